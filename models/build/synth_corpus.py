"""Synthetic labeled messages in English and French, written by us, to train `profanity-enfr`.

Why synthetic: no real labeled French abuse corpus ships in a package we can use, and the
development eval data must never be trained on. Every template and vocabulary word below
was written for this project; the profane terms come from our shipped word lists
(`moderation/rules/lists/`, built from MIT / CC BY 4.0 npm packages).

The templates cover the kinds of abuse a moderator sees (hate against a group, dehumanizing
comparisons, threats, insults at a person, swearing) and the clean messages that share their
words (support for a group, neutral mentions, counter-speech that quotes or condemns abuse,
anger at objects, and everyday chat), so the model learns the context, not just the
group names. Spelling noise (deleted, swapped or doubled letters, spaced letters,
glued words, leetspeak) is added to a share of both classes.

Everyday clean text also comes from Faker (MIT): its English and French word lists, catch
phrases, job titles and addresses, strung into random messages, so that ordinary words
the templates never use do not look abusive to the model. Some messages of both classes
are embedded in such filler, so that length and filler do not give the label away.

Real conversational lines come from chatterbot-corpus 1.3.3 (BSD-3-Clause; about 1,900
distinct English and 140 French lines), minus the few that call someone stupid or dumb,
alone or two or three in a row, sometimes in SMS spelling ("u", "r", "ur"), which is
applied to abusive messages too so that it is no clue either.

Usage (Faker and chatterbot-corpus are build-only tools, installed in a scratch venv, not in the project's):
    python3 -m venv /tmp/clf-venv && /tmp/clf-venv/bin/pip install faker==40.54.0 pyyaml
    /tmp/clf-venv/bin/pip install --no-deps chatterbot-corpus==1.3.3
    /tmp/clf-venv/bin/python models/build/synth_corpus.py OUT.jsonl [--seed 7] [--per-lang 12000]
"""

from __future__ import annotations

import argparse
import json
import random
import re
from pathlib import Path

LISTS_DIR = Path(__file__).resolve().parents[2] / "moderation" / "rules" / "lists"

EN = {
    "group": ["women", "men", "gay people", "lesbians", "trans people", "black people", "white people", "asians",
              "muslims", "jews", "christians", "immigrants", "refugees", "disabled people", "arabs", "mexicans",
              "gypsies", "foreigners", "old people", "poor people", "indians", "africans", "migrants", "atheists",
              "chinese people", "bisexual people", "feminists", "catholics", "hindus", "roma"],
    "group_sg": ["woman", "gay man", "trans person", "black person", "muslim", "jew", "immigrant", "refugee",
                 "disabled person", "arab", "foreigner", "migrant", "lesbian", "asian", "girl"],
    "neg_adj": ["disgusting", "pathetic", "worthless", "stupid", "dirty", "filthy", "vile", "evil", "useless",
                "repulsive", "inferior", "dumb", "brainless", "lazy", "violent", "criminal", "primitive", "retarded",
                "subhuman", "nasty", "ugly", "gross", "sick", "dangerous", "savage", "revolting", "despicable",
                "hopeless", "idiotic", "moronic", "trash", "a disgrace", "a plague", "a cancer", "a disease"],
    "neg_noun": ["scum", "vermin", "rats", "cockroaches", "parasites", "animals", "pigs", "apes", "trash", "garbage",
                 "filth", "a plague", "a cancer", "a disease", "monsters", "savages", "idiots", "morons", "losers",
                 "degenerates", "freaks", "lowlifes", "maggots", "leeches", "dogs", "rodents", "insects", "waste"],
    "emotion": ["hate", "despise", "loathe", "detest", "can't stand", "am disgusted by", "feel nothing but contempt for",
                "am sick of", "really hate", "truly despise"],
    "threat": ["kill", "shoot", "hang", "stab", "beat up", "murder", "burn", "slaughter", "hurt", "wipe out",
               "get rid of", "exterminate", "gas", "lynch", "punch"],
    "pos_adj": ["amazing", "wonderful", "great", "brilliant", "kind", "lovely", "welcome here", "valued", "strong",
                "smart", "beautiful", "talented", "inspiring", "friendly", "generous", "important", "equal to everyone"],
    "object": ["mondays", "traffic", "this weather", "rain", "my phone", "this app", "broccoli", "homework",
               "waiting in line", "my alarm clock", "the bus", "spiders", "taxes", "this song", "cold coffee",
               "the printer", "queues", "mosquitoes", "exams", "the wifi"],
    "insult": ["idiot", "moron", "loser", "bitch", "asshole", "bastard", "dickhead", "jerk", "retard", "dumbass",
               "piece of shit", "clown", "cunt", "twat", "prick", "wanker", "scumbag", "slut", "whore", "fool"],
    "swear": ["fuck", "shit", "damn", "fucking", "bullshit", "crap", "goddamn", "motherfucker", "fucked", "shitty"],
}

EN_TOXIC = [
    "{group} are {neg_adj}.", "{Group} are nothing but {neg_noun}.", "I {emotion} {group}.", "All {group} are {neg_noun}.",
    "{Group} are {neg_noun} and should be treated like it.", "I want to {threat} all {group}.",
    "{Group} should all be {threat_pp}.", "Someone should {threat} every {group_sg} in this town.",
    "{Group} like you are {neg_adj}.", "You are just a {neg_adj} {group_sg}.", "Typical {group_sg}, so {neg_adj}.",
    "{Group} are a plague on society.", "Death to {group}.", "{Group} don't deserve to live.",
    "{Group} belong in a zoo.", "{Group} are not human.", "{Group} should go back where they came from.",
    "I'd never hire a {group_sg}, they are {neg_adj}.", "Why are {group} always so {neg_adj}?",
    "Isn't it obvious that {group} are {neg_noun}?", "I really think {group} are {neg_adj}.",
    "In my opinion {group} are {neg_noun}.", "{Group} make me sick.", "{Group} disgust me.",
    "No {group_sg} can ever be trusted.", "The world would be better without {group}.",
    "{Group} are {neg_noun}, every single one of them.", "You {insult}.", "Shut up, you {neg_adj} {insult}.",
    "You are such a {insult}.", "What a {neg_adj} {insult} you are.", "Go to hell, {insult}.",
    "You're a {insult} and everyone knows it.", "{Swear} you, {insult}.", "{Swear} off.", "{Swear} {group}.",
    "This is {swear}.", "What the {swear} is wrong with you?", "You {swear} {insult}.", "I will {threat} you.",
    "I'm going to {threat} you and your family.", "Get out of here, you {neg_adj} {insult}.",
    "{Group} are all {insult}s.", "Keep your {neg_adj} {group_sg} mouth shut.",
    "{Group} can't be trusted with anything, they're too {neg_adj}.", "{Group} are {neg_noun}. Full stop.",
    "Having {group} around is the worst.", "If a {group_sg} did it, it must be {swear}.",
    "{Group} are so {neg_adj} it's unreal.", "You are a {lex}.", "{lex}!", "Such a {lex}.", "Stop being a {lex}.",
    "Shut your mouth, {lex}.", "{Group} are {lex}s.", "What a {lex} this guy is.", "{lex} {lex2}",
]

EN_OK = [
    "{Group} are {pos_adj}.", "I love {group}.", "I have so much respect for {group}.", "{Group} deserve respect.",
    "{Group} are welcome here.", "Many of my friends are {group}.", "I am one of the {group} in this town.",
    "{Group} live in my street.", "There are lots of {group} in my city.", "We need more {group} in politics.",
    "{Group} should be treated like everyone else.", "It is wrong to call {group} {neg_noun}.",
    "Saying that {group} are {neg_adj} is disgusting.", "Stop saying {group} are {neg_noun}.",
    "If you say \"{group} are {neg_noun}\", you are the problem.", "{Group} are not {neg_noun}.",
    "No one should hate {group}.", "I will never accept people calling {group} {neg_adj}.",
    "We must not let {group} be attacked.", "Hating {group} is never acceptable.",
    "{Group} are human beings like us.", "I {emotion_obj} {object}.", "I {emotion} {object}.",
    "{Object} are the worst.", "{Object_sg} is so annoying today.", "Ugh, {object} again.",
    "I could {threat_obj} {object} right now, haha.", "My {relative} is a {group_sg}.",
    "Who wants to come to the party on {day}?", "Can you pick up some milk on your way home?",
    "See you at {hour} near the station.", "Thanks a lot, that was really kind of you.",
    "I'll be a bit late, the traffic is terrible.", "Happy birthday! Have a wonderful day.",
    "Did you watch the game last night?", "Let me know when you arrive.", "The meeting is moved to {day}.",
    "I'm so tired, going to bed early tonight.", "Good morning, how are you?", "Call me when you're free.",
    "The car is parked behind the supermarket.", "We can split the cost of the petrol.",
    "That movie was {pos_adj}, you should watch it.", "My {relative} said the food was {pos_adj}.",
    "Sorry, I missed your call, what's up?", "The kids loved the trip to the beach.",
    "Please don't forget your passport.", "Is there room for a big suitcase?", "I can drop you at the airport.",
    "This is a {pos_adj} idea.", "You are {pos_adj}, thank you!", "Nice to meet you, {relative}.",
    "The {object_plain} was broken again this morning.", "Lots of {group} came to the festival.",
    "I read a book written by a {group_sg}.", "Our new neighbour is a {group_sg}, she is {pos_adj}.",
    "I want to {verb_ok} {thing}.", "I want to {verb_ok} you {when}.", "I'm going to {verb_ok} you {when}.",
    "I will {verb_ok} you {when}.", "Do you want to {verb_ok} {thing}?", "Are you going to {verb_ok} {thing}?",
    "You want to go {where}?", "You got {thing}?", "You are so {pos_sg}.", "You're {pos_sg}, you know that?",
    "Where are you? I'm {where}.", "Can you {verb_ok} me {when}?", "Tell me when you {verb_ok} {thing}.",
    "I miss you, come {where} {when}.", "Did you {verb_ok} {thing}?", "Hope you are having a good {when_noun}.",
    "Just checking in, how are you?", "Me and my {relative} are going {where} {when}.",
    "You and me should {verb_ok} {thing} {when}.", "I'm sick today, can you {verb_ok} {thing}?",
    "This is all just so {mood} to me.", "Don't {verb_ok} {thing} without me!", "Be careful, don't text and drive!",
    "Why are you always so {pos_sg}?", "Isn't it obvious that you need {thing}?", "Stop it, you are making me laugh.",
    "Shut up, that's amazing!", "You're killing me, haha.", "This game is sick!", "That was a killer show.",
]
EN_EXTRA_MORE = {
    "verb_ok": ["call", "meet", "see", "visit", "pick up", "help", "text", "bring", "cook", "watch", "buy", "fix",
                "drive", "book", "finish", "read", "join", "tell", "ask", "send"],
    "thing": ["the tickets", "dinner", "the kids", "a coffee", "the car", "my keys", "the report", "some bread",
              "the movie", "a taxi", "your bag", "the results", "a present for mum", "the dog", "the homework"],
    "when": ["tonight", "tomorrow", "later", "at 6", "this weekend", "after work", "on friday", "soon", "now"],
    "when_noun": ["week", "day", "weekend", "trip", "evening"],
    "where": ["home", "to the gym", "to the beach", "to town", "to the station", "to bed", "out", "to london"],
    "pos_sg": ["sweet", "funny", "kind", "lovely", "smart", "cute", "brilliant", "busy", "late", "quiet"],
    "mood": ["weird", "crazy", "new", "strange", "exciting", "confusing", "funny"],
}
EN_EXTRA = {
    "relative": ["mum", "dad", "sister", "brother", "friend", "cousin", "boss", "neighbour", "wife", "husband"],
    "day": ["monday", "tuesday", "friday", "saturday", "sunday", "the weekend", "tomorrow"],
    "hour": ["6pm", "7:30", "noon", "8 o'clock", "half past five"],
    "emotion_obj": ["hate", "can't stand", "am so done with", "really hate", "despise"],
    "threat_obj": ["kill", "throw", "smash", "destroy", "burn"],
    "object_plain": ["printer", "lift", "coffee machine", "train", "bike", "heater"],
}

FR = {
    "group": ["les femmes", "les homos", "les gays", "les lesbiennes", "les trans", "les noirs", "les blancs",
              "les asiatiques", "les musulmans", "les juifs", "les chrétiens", "les immigrés", "les réfugiés",
              "les handicapés", "les arabes", "les étrangers", "les migrants", "les roms", "les vieux", "les pauvres",
              "les africains", "les chinois", "les féministes", "les catholiques", "les gitans", "les bisexuels"],
    "group_sg": ["une femme", "un homo", "un trans", "un noir", "un musulman", "un juif", "un immigré",
                 "un réfugié", "un handicapé", "un arabe", "un étranger", "un migrant", "une lesbienne"],
    "neg_adj": ["dégoûtants", "pathétiques", "nuls", "stupides", "sales", "crasseux", "ignobles", "mauvais",
                "inutiles", "répugnants", "inférieurs", "débiles", "cons", "paresseux", "violents", "criminels",
                "primitifs", "attardés", "sous-humains", "immondes", "moches", "malades", "dangereux", "sauvages",
                "minables", "méprisables", "idiots", "abrutis", "arriérés", "bons à rien", "écœurants", "fainéants"],
    "neg_noun": ["des déchets", "de la vermine", "des rats", "des cafards", "des parasites", "des animaux",
                 "des porcs", "des singes", "des ordures", "de la merde", "une plaie", "un cancer", "une maladie",
                 "des monstres", "des sauvages", "des idiots", "des abrutis", "des nuls", "des dégénérés",
                 "des chiens", "des sous-hommes", "des moins que rien", "des raclures", "des pourritures",
                 "des cloportes", "des sangsues", "des bêtes", "une menace"],
    "emotion": ["déteste", "hais", "méprise", "ne supporte pas", "ne peux pas voir", "exècre", "vomis",
                "n'ai que du mépris pour", "en ai marre de", "suis dégoûté par"],
    "threat": ["tuer", "buter", "pendre", "poignarder", "tabasser", "massacrer", "brûler", "exterminer", "éliminer",
               "flinguer", "frapper", "gazer", "crever", "égorger", "défoncer"],
    "pos_adj": ["formidables", "merveilleux", "géniaux", "brillants", "gentils", "adorables", "les bienvenus",
                "précieux", "forts", "intelligents", "beaux", "talentueux", "inspirants", "sympas", "généreux",
                "importants", "nos égaux"],
    "object": ["les lundis", "les bouchons", "la pluie", "mon téléphone", "cette appli", "les brocolis",
               "les devoirs", "faire la queue", "mon réveil", "le bus", "les araignées", "les impôts",
               "cette chanson", "le café froid", "l'imprimante", "les moustiques", "les examens", "le wifi"],
    "insult": ["connard", "connasse", "salope", "pute", "enculé", "abruti", "débile", "crétin", "con", "bâtard",
               "fils de pute", "tocard", "batard", "pétasse", "ordure", "sale chien", "merdeux", "enfoiré",
               "trou du cul", "pauvre type", "grosse merde", "pédé", "tapette", "gouine"],
    "swear": ["putain", "merde", "bordel", "putain de merde", "nique ta mère", "ta gueule", "va te faire foutre",
              "fait chier", "bordel de merde", "ferme ta gueule"],
}

FR_TOXIC = [
    "{Group} sont {neg_adj}.", "{Group} ne sont que {neg_noun}.", "Je {emotion} {group}.",
    "Tous {group} sont {neg_noun}.", "Je veux {threat} tous {group}.", "Il faudrait {threat} {group}.",
    "On devrait {threat} chaque {group_sg_bare} de ce pays.", "{Group} comme vous sont {neg_adj}.",
    "T'es qu'{group_sg} {neg_adj_sg}.", "Typique d'{group_sg} d'être aussi {neg_adj_sg}.",
    "{Group} sont une plaie pour la société.", "Mort à {group}.", "{Group} ne méritent pas de vivre.",
    "{Group}, c'est {neg_noun}.", "{Group} ne sont pas des êtres humains.", "{Group} dehors !",
    "Qu'ils retournent chez eux, {group}.", "Je n'embaucherai jamais {group_sg}, ils sont {neg_adj}.",
    "Pourquoi {group} sont toujours aussi {neg_adj} ?", "N'est-il pas évident que {group} sont {neg_noun} ?",
    "Pour moi, {group} sont {neg_adj}.", "À mon avis, {group} sont {neg_noun}.", "{Group} me dégoûtent.",
    "{Group} me rendent malade.", "On ne peut jamais faire confiance à {group_sg}.",
    "Le monde serait meilleur sans {group}.", "{Group} sont {neg_noun}, tous autant qu'ils sont.",
    "Espèce de {insult}.", "Ta gueule, {insult}.", "T'es vraiment un {insult}.", "Quel {insult} celui-là.",
    "Va te faire foutre, {insult}.", "Casse-toi, {insult}.", "{Swear}, {insult}.", "{Swear}.",
    "{Swear}, {group} sont {neg_adj}.", "C'est de la merde.", "Je vais te {threat}.",
    "Je vais te {threat} toi et ta famille.", "Dégage, {insult} de {group_bare}.", "{Group} sont tous des {insult}s.",
    "Ferme ta gueule de {group_sg_bare}.", "{Group} sont trop {neg_adj} pour qu'on leur confie quoi que ce soit.",
    "{Group} sont {neg_noun}. Point.", "Si ça vient {group_de}, c'est forcément de la merde.",
    "{Group} sont tellement {neg_adj}, c'est incroyable.", "T'es un {lex}.", "{lex} !", "Quel {lex}.",
    "Arrête de faire le {lex}.", "Ferme-la, {lex}.", "{Group} sont des {lex}s.", "{lex}, {lex2}",
]

FR_OK = [
    "{Group} sont {pos_adj}.", "J'adore {group}.", "J'ai beaucoup de respect pour {group}.",
    "{Group} méritent le respect.", "{Group} sont les bienvenus ici.", "Beaucoup de mes amis sont {group_bare}.",
    "{Group} habitent dans ma rue.", "Il y a beaucoup {group_de_ok} dans ma ville.",
    "Il faut plus {group_de_ok} en politique.", "{Group} doivent être traités comme tout le monde.",
    "C'est inacceptable de dire que {group} sont {neg_noun}.", "Dire que {group} sont {neg_adj}, c'est honteux.",
    "Arrêtez de dire que {group} sont {neg_noun}.", "Si tu dis « {group} sont {neg_noun} », le problème c'est toi.",
    "{Group} ne sont pas {neg_noun}.", "Personne ne devrait détester {group}.",
    "Je n'accepterai jamais qu'on traite {group} de {neg_adj}.", "On ne doit plus laisser attaquer {group}.",
    "Haïr {group} n'est jamais acceptable.", "{Group} sont des êtres humains comme nous.",
    "Je {emotion_obj} {object}.", "{Object}, c'est vraiment pénible.", "Pff, encore {object}.",
    "Je pourrais {threat_obj} {object}, franchement.", "Mon {relative} est {group_sg_m}.",
    "Qui vient à la fête {day} ?", "Tu peux prendre du lait en rentrant ?", "On se retrouve à {hour} devant la gare.",
    "Merci beaucoup, c'est vraiment gentil.", "Je vais avoir un peu de retard, il y a des bouchons.",
    "Joyeux anniversaire ! Passe une excellente journée.", "Tu as vu le match hier soir ?",
    "Préviens-moi quand tu arrives.", "La réunion est déplacée à {day}.", "Je suis crevé, je me couche tôt ce soir.",
    "Bonjour, comment ça va ?", "Appelle-moi quand tu es libre.", "La voiture est garée derrière le supermarché.",
    "On peut partager les frais d'essence.", "Ce film était génial, tu devrais le voir.",
    "Désolé, j'ai raté ton appel, quoi de neuf ?", "Les enfants ont adoré la sortie à la plage.",
    "N'oublie pas ton passeport.", "Il y a de la place pour une grosse valise ?", "Je peux te déposer à l'aéroport.",
    "C'est une {pos_idea} idée.", "Tu es {pos_sg}, merci !", "Ravi de te rencontrer.",
    "{Object} m'a encore lâché ce matin.", "Beaucoup {group_de_ok} sont venus au festival.",
    "J'ai lu un livre écrit par {group_sg}.", "Notre nouvelle voisine est {group_sg_f}, elle est {pos_sg_f}.",
    "Le trajet Paris Lyon est à 15 euros.", "Départ à {hour} de la place de la mairie.",
    "Je veux {verb_ok} {thing}.", "Je vais t'{verb_ok_t} {when}.", "Je vais te {verb_ok_te} {when}.",
    "Tu veux {verb_ok} {thing} ?", "Tu vas {verb_ok} {thing} ?", "Tu es où ? Je suis {where}.",
    "Vous voulez {verb_ok} {thing} ?", "Vous êtes {pos_sg} !", "T'es {pos_sg}, tu sais.",
    "Tu peux {verb_ok} {thing} {when} ?", "Dis-moi quand tu as fini.", "Tu me manques, viens {when}.",
    "J'espère que tu passes une bonne {when_noun}.", "Moi et mon {relative} on va {where} {when}.",
    "Toi et moi on devrait {verb_ok} {thing} {when}.", "Je suis malade, tu peux {verb_ok} {thing} ?",
    "Pourquoi tu es toujours aussi {pos_sg} ?", "N'oublie pas de {verb_ok} {thing}.", "Arrête, tu me fais rire.",
    "Ferme la porte en partant stp.", "C'est de la balle ce jeu !", "Ce concert était une tuerie.",
    "Je vais mourir de rire.", "Vous êtes les meilleurs, merci pour tout.",
]
FR_EXTRA_MORE = {
    "verb_ok": ["appeler", "voir", "aider", "chercher", "prendre", "réserver", "acheter", "finir", "regarder",
                "lire", "envoyer", "amener", "préparer", "réparer", "visiter"],
    "verb_ok_t": ["appeler", "aider", "envoyer un message", "attendre", "emmener", "inviter"],
    "verb_ok_te": ["rappeler", "voir", "chercher", "déposer", "retrouver", "montrer ça", "prêter ma voiture"],
    "thing": ["les billets", "le dîner", "les enfants", "un café", "la voiture", "mes clés", "le rapport",
              "du pain", "le film", "un taxi", "ton sac", "les résultats", "un cadeau pour maman", "le chien"],
    "when": ["ce soir", "demain", "plus tard", "à 18h", "ce week-end", "après le boulot", "vendredi", "bientôt"],
    "when_noun": ["semaine", "journée", "soirée", "fin de semaine"],
    "where": ["à la maison", "à la gare", "en ville", "au boulot", "à la plage", "chez ma mère", "à Lyon"],
    "pos_sg": ["adorable", "drôle", "gentil", "sympa", "génial", "en retard", "occupé", "trop mignon"],
}
FR_EXTRA = {
    "relative": ["frère", "père", "cousin", "voisin", "patron", "ami", "oncle", "mari"],
    "day": ["lundi", "mardi", "vendredi", "samedi", "dimanche", "ce week-end", "demain"],
    "hour": ["18h", "7h30", "midi", "20 heures", "17h45"],
    "emotion_obj": ["déteste", "ne supporte plus", "en ai marre de", "hais", "ne peux plus voir"],
    "threat_obj": ["tuer", "jeter", "casser", "exploser", "balancer"],
    "pos_idea": ["super", "bonne", "excellente", "belle", "géniale"],
    "pos_sg": ["génial", "adorable", "super", "formidable", "trop gentil"],
    "pos_sg_f": ["adorable", "super gentille", "formidable", "brillante", "très drôle"],
    "group_sg_m": ["musulman", "juif", "gay", "noir", "immigré", "handicapé", "arabe", "chrétien", "réfugié"],
    "group_sg_f": ["musulmane", "juive", "lesbienne", "noire", "immigrée", "arabe", "chrétienne", "réfugiée"],
}
EN_PP = {"kill": "killed", "shoot": "shot", "hang": "hanged", "stab": "stabbed", "beat up": "beaten up",
         "murder": "murdered", "burn": "burned", "slaughter": "slaughtered", "hurt": "hurt", "wipe out": "wiped out",
         "get rid of": "gotten rid of", "exterminate": "exterminated", "gas": "gassed", "lynch": "lynched",
         "punch": "punched"}
LEET = {"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7"}


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def _fill(template: str, vocab: dict[str, list[str]], lex: list[str], rng: random.Random, lang: str) -> str:
    """Fill every {slot}; a capitalised slot name gives a capitalised value."""
    values: dict[str, str] = {}
    group = rng.choice(vocab["group"])
    values["group"] = group
    values["group_sg"] = rng.choice(vocab["group_sg"])
    if lang == "fr":
        bare = group.split(" ", 1)[1]
        values["group_bare"] = bare
        values["group_de"] = "des " + bare
        values["group_de_ok"] = "d'" + bare if bare[0] in "aeiouéh" else "de " + bare
        values["group_sg_bare"] = values["group_sg"].split(" ", 1)[1]
        values["neg_adj_sg"] = rng.choice(vocab["neg_adj"]).removesuffix("s") if rng.random() < 0.8 else "nul"
    else:
        values["threat_pp"] = EN_PP[rng.choice(vocab["threat"])]
        values["object_sg"] = rng.choice(vocab["object"])
    for key, options in vocab.items():
        values.setdefault(key, rng.choice(options))
    values["lex"] = rng.choice(lex)
    values["lex2"] = rng.choice(lex)
    for key in list(values):
        values.setdefault(_cap(key), _cap(values[key]))
    return template.format(**values)


def _noise(text: str, rng: random.Random) -> str:
    """One spelling trick of the kind used to dodge filters, applied to one longer word."""
    words = text.split(" ")
    idx = [i for i, w in enumerate(words) if len(w) >= 4]
    if not idx:
        return text
    i = rng.choice(idx)
    w = words[i]
    trick = rng.randrange(6)
    j = rng.randrange(1, len(w) - 1)
    if trick == 0:  # deleted letter
        w = w[:j] + w[j + 1:]
    elif trick == 1:  # swapped letters
        w = w[:j - 1] + w[j] + w[j - 1] + w[j + 1:]
    elif trick == 2:  # spaced letters
        w = " ".join(w)
    elif trick == 3 and i + 1 < len(words):  # glued to the next word
        words[i + 1] = w + words[i + 1]
        del words[i]
        return " ".join(words)
    elif trick == 4:  # leetspeak
        w = "".join(LEET.get(c, c) if rng.random() < 0.6 else c for c in w)
    else:  # doubled letter
        w = w[:j] + w[j] + w[j:]
    words[i] = w
    return " ".join(words)


CHAT = {
    "en": ["ok", "k", "lol", "haha", "u", "ur", "gonna", "wanna", "pls", "thx", "tmr", "2day", "luv", "xx", ":)",
           "wat", "r u", "cant", "dont", "im", "omw", "brb", "yeah", "nope", "hey", "hi", "babe", "sweetie",
           "gud", "nite", "msg", "txt", "call", "home", "later", "sorry", "love you", "miss you", "cool", "sure",
           "you", "me", "i want to", "i'm going to", "are you", "will you", "you are", "i will", "do you",
           "to me", "with me", "your", "all", "just", "so", "why", "what", "go", "get", "got", "like"],
    "fr": ["ok", "mdr", "lol", "stp", "svp", "bcp", "jsp", "tkt", "slt", "cc", "bjr", "dac", "ouais", "bisous",
           "a plus", "merci", "pk", "pcq", "jpp", "chui", "t'es où", "rdv", "ce soir", "demain", "bon", "super",
           "grave", "trop bien", "ça marche", "pas de souci", "je t'appelle", "j'arrive", "bises", "coucou",
           "tu", "toi", "moi", "je veux", "je vais", "vous êtes", "tu es", "t'es", "sont", "les", "tous",
           "comme vous", "pour moi", "c'est", "vraiment", "trop", "ton", "ta", "pourquoi"],
}


SMS_SPELLING = [(r"\byou\b", "u"), (r"\bare\b", "r"), (r"\byour\b", "ur"), (r"\bplease\b", "pls"),
                (r"\bthanks\b", "thx"), (r"\bto\b", "2"), (r"\bfor\b", "4"), (r"\bbecause\b", "coz"),
                (r"\btoday\b", "2day"), (r"\bthe\b", "da")]
UNKIND = re.compile(r"stupid|dumb|idiot|hate|kill|ugly", re.IGNORECASE)


def chatter_lines(lang: str) -> list[str]:
    """Distinct lines of chatterbot-corpus conversations in one language, the unkind ones left out."""
    import chatterbot_corpus
    import yaml

    folder = Path(chatterbot_corpus.__file__).parent / "data" / ("english" if lang == "en" else "french")
    lines: set[str] = set()
    for path in sorted(folder.glob("*.yml")):
        for conversation in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("conversations", []):
            lines.update(line.strip() for line in conversation if isinstance(line, str) and line.strip())
    return sorted(line for line in lines if not UNKIND.search(line))


def sms_spelling(text: str, rng: random.Random) -> str:
    for pattern, short in SMS_SPELLING:
        if rng.random() < 0.7:
            text = re.sub(pattern, short, text, flags=re.IGNORECASE)
    return text


class Filler:
    """Random everyday text in one language, from Faker's word lists and phrases."""

    def __init__(self, lang: str, seed: int) -> None:
        from faker import Faker

        self.fake = Faker("en_US" if lang == "en" else "fr_FR")
        self.fake.seed_instance(seed)
        self.lang = lang

    def __call__(self, rng: random.Random) -> str:
        kind = rng.randrange(6)
        if kind == 0:
            return self.fake.sentence(nb_words=rng.randint(3, 14))
        if kind == 1:
            return " ".join(self.fake.sentences(nb=rng.randint(2, 4)))
        if kind == 2:
            return f"{self.fake.catch_phrase()}. {self.fake.job()}"
        if kind == 3:
            return f"{self.fake.first_name()} {self.fake.address()}".replace("\n", " ")
        words = [rng.choice(CHAT[self.lang]) for _ in range(rng.randint(1, 4))]
        words += self.fake.words(nb=rng.randint(2, 10))
        rng.shuffle(words)
        return " ".join(words)


def generate(lang: str, n: int, rng: random.Random) -> list[dict[str, str]]:
    """`n` messages of one language, half abusive, half clean; 30 % get spelling noise.

    Of the clean half, a quarter is chatterbot-corpus lines, a fifth Faker filler, the rest
    templates; a fifth of the template messages of both
    halves is embedded in filler.
    """
    filler = Filler(lang, rng.randrange(1 << 30))
    chatter = chatter_lines(lang)
    if lang == "en":
        vocab = {**EN, **EN_EXTRA, **EN_EXTRA_MORE}
        toxic, ok = EN_TOXIC, EN_OK
    else:
        vocab = {**FR, **FR_EXTRA, **FR_EXTRA_MORE}
        toxic, ok = FR_TOXIC, FR_OK
    lex = [t for t in (LISTS_DIR / f"{lang}.txt").read_text(encoding="utf-8").split("\n") if t]
    rows = []
    for k in range(n):
        label = "profanity_insult" if k % 2 == 0 else "ok"
        roll = rng.random()
        if label == "ok" and roll < 0.25:
            text = " ".join(rng.choice(chatter) for _ in range(rng.choice([1, 1, 2, 3])))
        elif label == "ok" and roll < 0.45:
            text = filler(rng)
        else:
            text = _fill(rng.choice(toxic if label != "ok" else ok), vocab, lex, rng, lang)
            if rng.random() < 0.3:
                text = _noise(text, rng)
            if rng.random() < 0.2:
                text = f"{filler(rng)} {text}" if rng.random() < 0.5 else f"{text} {filler(rng)}"
        if lang == "en" and rng.random() < 0.15:
            text = sms_spelling(text, rng)
        if rng.random() < 0.3:
            text = text.lower()
        rows.append({"text": text, "label": label, "lang": lang})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--per-lang", type=int, default=12000)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    rows = generate("en", args.per_lang, rng) + generate("fr", args.per_lang, rng)
    with args.out.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"seed {args.seed}: wrote {len(rows)} rows to {args.out}")


if __name__ == "__main__":
    main()
