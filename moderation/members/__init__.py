"""What members of the community do besides posting: their reports on messages and on other
members (`reports`). Beside `moderation.review`, whose queue it feeds."""
