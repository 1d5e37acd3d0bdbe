"""Seeded benchmark data: carpool-like short texts and photo-like JPEGs."""

from __future__ import annotations

import random

TEMPLATES = [
    "Bonjour, je pars de {a} vers {b} le {d} à {h}, {p} € par place.",
    "Salut ! Il reste {n} places, départ {h} devant la gare de {a}.",
    "Hi, I can pick you up at {a} station at {h}, {p} euros is fine.",
    "Super trajet avec {name}, conduite souple, je recommande !",
    "Great driver, very punctual, the car was clean. {n}/5",
    "Merci pour le trajet, à bientôt sur {b} !",
    "Appelle-moi au 06 {x} {y} {z} {w} pour les détails.",
    "Can you send me your number? mine is +44 7400 {x}{y}{z}",
    "Rendez-vous {h} au parking du {name}, j'ai une {car}.",
    "Espèce de connard, tu es arrivé avec une heure de retard",
]
CITIES = ["Lyon", "Paris", "Lille", "Nantes", "Bordeaux", "Grenoble", "Brussels", "Geneva", "London"]
NAMES = ["Julie", "Marc", "Sophie", "Ahmed", "Lucas", "Emma", "Carrefour", "Leclerc"]
CARS = ["Clio", "Golf", "308", "Model 3", "Zoé"]


def texts(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        t = rng.choice(TEMPLATES)
        out.append(
            t.format(
                a=rng.choice(CITIES),
                b=rng.choice(CITIES),
                d=f"{rng.randint(1, 28)}/{rng.randint(1, 12):02d}",
                h=f"{rng.randint(5, 22)}h{rng.choice(['00', '15', '30', '45'])}",
                p=rng.randint(5, 60),
                n=rng.randint(1, 5),
                name=rng.choice(NAMES),
                car=rng.choice(CARS),
                x=f"{rng.randint(10, 99)}",
                y=f"{rng.randint(10, 99)}",
                z=f"{rng.randint(10, 99)}",
                w=f"{rng.randint(10, 99)}",
            )
        )
    return out
