"""What members of the community do besides posting, and what is done to their accounts:
their reports on messages and on other members (`reports`), the strikes their rejections
count and the actions taken on their accounts (`enforcement`), their appeals (`appeals`),
and the copy-paste campaigns caught after the fact (`campaigns`). Beside
`moderation.review`, whose queue they feed."""
