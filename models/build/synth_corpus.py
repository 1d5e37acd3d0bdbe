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

# --- 1.2.0: what 1.1.0 got wrong on the development set, by kind (never its rows) ------------
# The development eval showed three kinds of error, measured per functional test: identity
# mentions read as abuse (a group name alone pushed the score up, because nearly every
# template that named a group was abusive), counter-speech and negation read as abuse, and
# everyday French and carpool messages scored as abuse because the clean data hardly had
# any. These templates, written for this project, give each group name as many clean as
# abusive contexts, wrap abusive sentences in the words that condemn, quote or deny them,
# and add the platform's own kind of clean message. The abuse side gains the forms a group
# name alone could carry before: implicit derogation with no slur, negated praise, and
# hateful questions.

EN_IDENTITY_OK = [
    "I am {group_sg_a}.", "As {group_sg_a}, I know how that feels.", "I'm {group_sg_a} and proud of it.",
    "My best friend is {group_sg_a}.", "{Group} have lived in this region for generations.",
    "The {group} in my class organised the trip.", "There is a meetup for {group} on {day}.",
    "Our team has {group} and everyone gets along.", "{Group} celebrate this week, so the centre is busy.",
    "A lot of {group} use the bus line to the hospital.", "The new mayor is {group_sg_a}.",
    "I met two {group} on the train, really nice chat.", "{Group} are people, nothing more and nothing less.",
    "{Group} are just like any other people.", "I stand with {group}.", "{Group} make this city better.",
    "We should listen to {group} more.", "So many {group} helped after the floods.",
    "{Group} deserve the same rights as everyone.", "Proud of the {group} in my family.",
    "Being {group_sg_a} is completely normal.", "{Group} are my neighbours and my friends.",
    "Respect to all {group}.", "{Group} are {pos_adj} and I'm glad they are here.",
    "I grew up with {group}, best people I know.", "{Group} have every right to be here.",
    "Thank you to the {group} who volunteered today.", "Is it true that {group} started the festival?",
    "Why do {group} celebrate on {day}?", "How many {group} live in {city}?",
]
EN_NEGATION_OK = [
    "{Group} are not {neg_noun}.", "{Group} are not {neg_adj} at all.", "I don't hate {group}.",
    "I would never {threat} anyone, let alone {group}.", "Nobody should {threat} {group}.",
    "It's not true that {group} are {neg_adj}.", "{Group} aren't {neg_noun}, they're people.",
    "I don't think {group} are {neg_adj}.", "No {group_sg} deserves to be called {neg_noun}.",
    "{Group} never deserve to be treated like {neg_noun}.", "I have nothing against {group}, quite the opposite.",
    "I'll never say {group} are {neg_adj}.", "There is nothing wrong with {group}.",
]
# Frames that condemn, report or deny a quoted abusive sentence: {q} is one of the abusive
# templates, filled, so the same words appear in both classes and the frame decides.
EN_COUNTER = [
    "\"{q}\" is a hateful thing to say.", "Saying \"{q}\" is completely unacceptable.",
    "I can't believe someone wrote \"{q}\" on the wall.", "If you think \"{q}\", you need help.",
    "Statements like \"{q}\" make me so angry.", "Someone told me \"{q}\" and I reported him.",
    "Posting \"{q}\" should get you banned.", "\"{q}\" No. That is bigotry, plain and simple.",
    "People who say \"{q}\" are the real problem.", "You really think \"{q}\"? That's disgusting of you.",
    "I heard a man shout \"{q}\" at the station, it was awful.", "Nobody should ever have to read \"{q}\".",
    "Stop spreading lies like \"{q}\".", "The sign said \"{q}\". The police took it down.",
    "Hearing \"{q}\" in 2024 is shocking.", "I'm ashamed that my uncle says \"{q}\".",
]
EN_IMPLICIT_TOXIC = [
    "{Group} belong in {bad_place}.", "{Group} should stay in {bad_place} where they belong.",
    "You can't expect anything from {group}.", "{Group} ruin every neighbourhood they move into.",
    "{Group} are a burden on everyone else.", "I'd rather walk than share a car with {group}.",
    "Don't let {group} near your kids.", "{Group} are never {pos_adj}.", "{Group} will never be {pos_adj}.",
    "No {group_sg} has ever been {pos_adj}.", "{Group} can't be {pos_adj}, it's not in them.",
    "Why are {group} such a drain on society?", "Aren't {group} just {neg_noun}?",
    "Is there anything worse than {group}?", "Why do {group} always cause trouble?",
    "{Group} should not be allowed to vote.", "{Group} should not be allowed to drive.",
    "Keep {group} out of this country.", "{Group} are the reason everything is going wrong.",
    "I'm going to {threat} every {group_sg} I see.", "You'll be {threat_pp} if you come back here.",
    "Watch your back, I'll {threat} you.", "Next time I see you I'll {threat} you.", "{Group} deserve to be {threat_pp}.",
    "It's time to {threat} {group}.", "We should {threat} {group} one by one.",
    "I'm tired of {group} taking everything.", "{Group} only know how to steal.",
]
EN_IDENTITY_EXTRA = {
    "group_sg_a": ["a woman", "a gay man", "a trans woman", "a black man", "a muslim", "a jew", "an immigrant",
                   "a refugee", "disabled", "an arab", "a lesbian", "asian", "bisexual", "a christian", "a hindu",
                   "a migrant", "a feminist", "a catholic", "roma", "an atheist"],
    "bad_place": ["the kitchen", "a cage", "the gutter", "their own country", "a zoo", "the trash", "prison",
                  "the back of the bus"],
    "city": ["Leeds", "Paris", "London", "Brussels", "Lyon", "Geneva", "Manchester"],
}

FR_IDENTITY_OK = [
    "Je suis {group_sg}.", "En tant que {group_sg_bare}, je sais ce que c'est.", "Je suis {group_sg} et fier de l'être.",
    "Mon meilleur ami est {group_sg_m}.", "{Group} vivent dans la région depuis des générations.",
    "{Group} de ma classe ont organisé la sortie.", "Il y a une réunion pour {group} {day}.",
    "Notre équipe compte {group} et tout se passe bien.", "{Group} font la fête cette semaine, le centre est plein.",
    "Beaucoup {group_de_ok} prennent le bus pour l'hôpital.", "Le nouveau maire est {group_sg_m}.",
    "J'ai rencontré deux {group_bare} dans le train, super discussion.", "{Group} sont des gens comme les autres.",
    "Je soutiens {group}.", "{Group} rendent cette ville meilleure.", "Il faut écouter {group} davantage.",
    "Tant {group_de_ok} ont aidé après les inondations.", "{Group} ont les mêmes droits que tout le monde.",
    "Fier {group_de_ok} de ma famille.", "Être {group_sg_m}, c'est tout à fait normal.",
    "{Group} sont mes voisins et mes amis.", "Respect à tous {group}.", "{Group} sont {pos_adj}, je suis content qu'ils soient là.",
    "J'ai grandi avec {group}, les meilleures personnes que je connaisse.", "{Group} ont tout à fait leur place ici.",
    "Merci {group_aux} bénévoles d'aujourd'hui.", "C'est vrai que {group} ont lancé le festival ?",
    "Pourquoi {group} font la fête {day} ?", "Combien {group_de_ok} vivent à {city} ?",
]
FR_NEGATION_OK = [
    "{Group} ne sont pas {neg_noun}.", "{Group} ne sont pas du tout {neg_adj}.", "Je ne déteste pas {group}.",
    "Je ne voudrais jamais {threat} qui que ce soit, et surtout pas {group}.", "Personne ne devrait {threat} {group}.",
    "C'est faux de dire que {group} sont {neg_adj}.", "{Group} ne sont pas {neg_noun}, ce sont des gens.",
    "Je ne pense pas que {group} soient {neg_adj}.", "Aucun {group_sg_bare} ne mérite d'être traité de {neg_adj_sg}.",
    "Je n'ai rien contre {group}, bien au contraire.", "Jamais je ne dirai que {group} sont {neg_adj}.",
    "Il n'y a rien de mal à être {group_sg_m}.",
]
FR_COUNTER = [
    "« {q} » : c'est une phrase haineuse.", "Dire « {q} », c'est inacceptable.",
    "Je n'arrive pas à croire que quelqu'un ait écrit « {q} » sur le mur.", "Si tu penses « {q} », tu as besoin d'aide.",
    "Des phrases comme « {q} » me mettent en colère.", "Un type m'a dit « {q} » et je l'ai signalé.",
    "Écrire « {q} » devrait te faire bannir.", "« {q} » Non. Ça, c'est du racisme, point.",
    "Les gens qui disent « {q} » sont le vrai problème.", "Tu penses vraiment « {q} » ? C'est honteux.",
    "J'ai entendu un homme crier « {q} » à la gare, c'était affreux.", "Personne ne devrait avoir à lire « {q} ».",
    "Arrête de répandre des mensonges comme « {q} ».", "La pancarte disait « {q} ». La police l'a retirée.",
    "Entendre « {q} » en 2024, c'est choquant.", "J'ai honte que mon oncle dise « {q} ».",
]
FR_IMPLICIT_TOXIC = [
    "{Group} devraient rester {bad_place}.", "{Group}, leur place est {bad_place}.",
    "Il ne faut rien attendre {group_de}.", "{Group} ruinent tous les quartiers où ils s'installent.",
    "{Group} sont un fardeau pour tout le monde.", "Je préfère marcher que partager une voiture avec {group}.",
    "Ne laissez pas {group} approcher vos enfants.", "{Group} ne sont jamais {pos_adj}.",
    "{Group} ne seront jamais {pos_adj}.", "{Group} ne peuvent pas être {pos_adj}, ce n'est pas dans leur nature.",
    "Pourquoi {group} coûtent-ils si cher à la société ?", "{Group}, c'est pas juste {neg_noun} ?",
    "Y a-t-il pire que {group} ?", "Pourquoi {group} font toujours des histoires ?",
    "{Group} ne devraient pas avoir le droit de voter.", "{Group} ne devraient pas avoir le droit de conduire.",
    "Il faut garder {group} hors du pays.", "{Group} sont la cause de tout ce qui va mal.",
    "J'en ai assez que {group} prennent tout.", "{Group} ne savent que voler.",
    "Je vais {threat} chaque {group_sg_bare} que je croise.", "Fais gaffe à toi, je vais te {threat}.",
    "La prochaine fois que je te vois, je te {threat_now}.", "{Group} mériteraient qu'on les {threat_subj}.",
    "Il est temps de {threat} {group}.", "On devrait {threat} {group} un par un.",
]
FR_IDENTITY_EXTRA = {
    "threat_now": ["tue", "bute", "défonce", "égorge", "crève", "flingue", "massacre"],
    "threat_subj": ["tue", "pende", "brûle", "gaze", "massacre", "extermine", "élimine"],
    "bad_place": ["à la cuisine", "dans une cage", "dans le caniveau", "chez eux", "au zoo", "à la poubelle", "en prison"],
    "city": ["Lyon", "Paris", "Bruxelles", "Genève", "Lille", "Nantes", "Marseille"],
}

# The platform's own clean traffic: trip offers, arrangements, ratings, written for this project.
CARPOOL = {
    "en": {
        "templates": [
            "Leaving {city} at {time} for {city2}, {seats} seats left, {price} each.",
            "Hi, is there still a seat for {day}? I have {bag}.", "I'll be at {place} at {time}, grey {car}.",
            "Running {late} minutes late, sorry, traffic on the ring road.", "Thanks for the ride, great chat and smooth driving!",
            "Very punctual driver, clean car, would ride again.", "Can you drop me near {place}?",
            "No problem for the {bag}, there is room in the boot.", "Sorry, I have to cancel, my plans changed.",
            "Where exactly is the pick-up point in {city}?", "Is it ok if I bring my dog? He is small and calm.",
            "We stopped once for coffee, arrived on time in {city2}.", "Passenger was friendly and on time, {stars} stars.",
            "Trip {city} to {city2} every {day}, {price}, non-smoking car.", "I'm the passenger in the blue coat, waving at you.",
            "Could we leave at {time} instead?", "Message me here if anything changes.",
            "Music is fine by me, and the aircon was perfect.", "Great driver, a bit fast on the motorway though.",
            "Booked for two people, see you {day}!", "The car smelled of smoke, otherwise fine.",
        ],
    },
    "fr": {
        "templates": [
            "Départ de {city} à {time} pour {city2}, {seats} places dispo, {price} par personne.",
            "Bonjour, il reste une place pour {day} ? J'ai {bag}.", "Je serai à {place} à {time}, {car} grise.",
            "J'ai {late} minutes de retard, désolé, bouchons sur le périph.", "Merci pour le trajet, super ambiance et conduite souple !",
            "Conducteur très ponctuel, voiture propre, je recommande.", "Tu peux me déposer près de {place} ?",
            "Pas de souci pour {bag}, il y a de la place dans le coffre.", "Désolé, je dois annuler, changement de programme.",
            "Où est le point de rendez-vous exactement à {city} ?", "Je peux venir avec mon chien ? Il est petit et calme.",
            "Une pause café et arrivée à l'heure à {city2}.", "Passagère sympa et à l'heure, {stars} étoiles.",
            "Trajet {city} {city2} tous les {day}, {price}, voiture non-fumeur.", "Je suis la passagère au manteau bleu, je te fais signe.",
            "On pourrait partir à {time} plutôt ?", "Écris-moi ici si quelque chose change.",
            "La musique ça me va, et la clim était parfaite.", "Super conducteur, un peu rapide sur l'autoroute quand même.",
            "Réservé pour deux, à {day} !", "La voiture sentait le tabac, sinon rien à dire.",
            "Je te confirme l'heure ici dans la soirée.", "Coucou, bien arrivée, merci encore !",
        ],
    },
}
CARPOOL_VOCAB = {
    "en": {
        "city": ["Leeds", "London", "Manchester", "Bristol", "York", "Oxford", "Brighton", "Cardiff"],
        "time": ["7:45", "6:30pm", "8am", "noon", "17:15", "half past nine"],
        "seats": ["2", "3", "one", "two"], "price": ["£12", "£8.50", "15 euros", "£20"],
        "day": ["Friday", "Sunday", "tomorrow", "Monday morning", "the 14th"],
        "bag": ["a big suitcase", "a small backpack", "a bike", "two bags"],
        "place": ["the station", "the petrol station", "the car park behind Tesco", "the main square", "exit 12"],
        "car": ["Clio", "Golf", "Peugeot 308", "Tesla", "van"], "late": ["5", "10", "15", "20"],
        "stars": ["5", "4", "five"],
    },
    "fr": {
        "city": ["Lyon", "Paris", "Nantes", "Rennes", "Bordeaux", "Lille", "Grenoble", "Genève", "Bruxelles"],
        "time": ["7h45", "18h30", "8h", "midi", "17h15", "9h30"],
        "seats": ["2", "3", "une", "deux"], "price": ["12 €", "8,50 €", "15 euros", "20€"],
        "day": ["vendredi", "dimanche", "demain", "lundi matin", "le 14"],
        "bag": ["une grosse valise", "un petit sac à dos", "un vélo", "deux sacs"],
        "place": ["la gare", "la station-service", "le parking du Leclerc", "la place de la mairie", "la sortie 12"],
        "car": ["une Clio", "une Golf", "une 308", "une Tesla", "un van"], "late": ["5", "10", "15", "20"],
        "stars": ["5", "4", "cinq"],
    },
}


# Everyday text messages, written for this project: short, abbreviated, with the harmless
# uses of strong words ("dying to", "sick of waiting", "killing time") that chat is full of.
SMS_CHAT = {
    "en": {
        "templates": [
            "{greet} {endear}, {q}", "wat u up to {when}?", "k see u {when}", "cant make it {when}, sorry {endear}",
            "on my way, {eta} mins", "did u get my {thing}?", "luv u {endear} xx", "haha that's {funny}",
            "gonna be late, {excuse}", "ok no prob", "where r u?", "im at {place}", "u still coming {when}?",
            "call me when u can", "miss u {endear}", "good nite {endear}", "thk u so much for {thing}",
            "what time is the {event}?", "lol u r {funny}", "just woke up, {feel}", "ya i'll be there {when}",
            "{feel}, going to bed", "dying to see u {when}", "killing time at {place}", "sick of waiting for {thing}",
            "this {event} is gonna be mad", "can u get {thing} on ur way?", "no worries, {when} is fine",
            "dunno yet, will txt u {when}", "my phone died, sorry", "got ur msg, {reply}", "{reply}, see u {when}",
            "that {event} was the best", "hope ur feeling better {endear}", "ring me {when} ok", "happy bday {endear}!!",
            "omg {funny}", "i'm so {feel} today", "shall we get {thing} {when}?", "be there in {eta}",
        ],
        "greet": ["hey", "hi", "hiya", "yo", "morning", "evening", "oi"],
        "endear": ["babe", "hun", "mate", "love", "sweetie", "bro", "dear", "xx"],
        "q": ["how r u?", "u ok?", "what's the plan?", "are we still on?", "how was ur day?", "fancy a drink?"],
        "when": ["2nite", "tmr", "later", "l8r", "this wkend", "at 7", "after work", "sat", "in a bit"],
        "eta": ["5", "10", "15", "20", "5 mins", "half an hour"],
        "thing": ["text", "parcel", "keys", "tickets", "pizza", "milk", "the photos", "ur call", "the bill", "charger"],
        "funny": ["hilarious", "crazy", "so funny", "mental", "brilliant", "too much", "a joke"],
        "excuse": ["bus is late", "stuck in traffic", "work ran over", "lost my keys", "train cancelled"],
        "place": ["the pub", "work", "mum's", "the station", "uni", "the gym", "tesco", "home"],
        "event": ["party", "match", "film", "gig", "meeting", "exam", "dinner", "class"],
        "feel": ["knackered", "dead tired", "shattered", "so bored", "starving", "freezing", "ill", "buzzing"],
        "reply": ["ok cool", "sounds good", "no problem", "yep", "sure thing", "nice one", "ta"],
    },
    "fr": {
        "templates": [
            "{greet} {endear}, {q}", "tu fais quoi {when} ?", "ok à {when}", "je peux pas {when}, désolé {endear}",
            "j'arrive dans {eta}", "t'as reçu {thing} ?", "bisous {endear}", "mdr {funny}", "je vais être en retard, {excuse}",
            "ok pas de souci", "t'es où ?", "chui à {place}", "tu viens toujours {when} ?", "appelle-moi quand tu peux",
            "tu me manques {endear}", "bonne nuit {endear}", "merci pour {thing}", "c'est à quelle heure {event} ?",
            "t'es {funny} toi", "je viens de me lever, {feel}", "oui je serai là {when}", "{feel}, je vais me coucher",
            "trop hâte de te voir {when}", "je tue le temps à {place}", "j'en ai marre d'attendre {thing}",
            "tu peux prendre {thing} en passant ?", "tkt, {when} ça marche", "jsp encore, je te dis {when}",
            "plus de batterie, désolé", "bien reçu, {reply}", "{reply}, à {when}", "{event} c'était trop bien",
            "j'espère que tu vas mieux {endear}", "bon anniv {endear} !!", "je suis trop {feel} aujourd'hui",
            "on se prend {thing} {when} ?", "j'y suis dans {eta}",
        ],
        "greet": ["coucou", "salut", "slt", "cc", "bonjour", "yo", "hello"],
        "endear": ["ma belle", "mon cœur", "frérot", "ma puce", "mon pote", "chéri", "bb"],
        "q": ["ça va ?", "tu vas bien ?", "on fait quoi ?", "c'est toujours bon ?", "ta journée ?", "un verre ce soir ?"],
        "when": ["ce soir", "demain", "tout à l'heure", "ce we", "à 19h", "après le taf", "samedi", "dans 5 min"],
        "eta": ["5 min", "10 min", "un quart d'heure", "20 min", "une demi-heure"],
        "thing": ["mon message", "le colis", "les clés", "les places", "une pizza", "du pain", "les photos", "le chargeur"],
        "funny": ["trop drôle", "ouf", "un malade", "génial", "trop fort", "pas possible"],
        "excuse": ["le bus est en retard", "bouchons", "le boulot déborde", "j'ai perdu mes clés", "train supprimé"],
        "place": ["la gare", "la maison", "chez ma mère", "la fac", "la salle", "Carrefour", "au taf"],
        "event": ["la soirée", "le match", "le film", "le concert", "la réunion", "l'exam", "le dîner"],
        "feel": ["crevé", "mort de fatigue", "naze", "ko", "affamé", "gelé", "malade", "à fond"],
        "reply": ["ok cool", "ça marche", "pas de souci", "yes", "top", "merci"],
    },
}


def sms_message(lang: str, rng: random.Random) -> str:
    slots = SMS_CHAT[lang]
    return rng.choice(slots["templates"]).format(**{k: rng.choice(v) for k, v in slots.items() if k != "templates"})


def carpool_message(lang: str, rng: random.Random) -> str:
    vocab = CARPOOL_VOCAB[lang]
    values = {k: rng.choice(v) for k, v in vocab.items()}
    values["city2"] = rng.choice([c for c in vocab["city"] if c != values["city"]])
    return rng.choice(CARPOOL[lang]["templates"]).format(**values)


def fragment(chatter: list[str], rng: random.Random) -> str:
    """A few words cut from a clean line: short clean texts, so that brevity is no clue."""
    words = rng.choice(chatter).split()
    if len(words) <= 3:
        return " ".join(words)
    start = rng.randrange(len(words) - 1)
    return " ".join(words[start : start + rng.randint(1, 4)])


# Frame-matched clean messages: every abusive template filled with harmless words in its
# abusive slots ("Tous les trains sont en retard", "I want to thank all the drivers"), so
# that the frame's function words ("tous les", "all", "should be", "je vais te") carry no
# label and the model must read the words that do.
NEUTRAL = {
    "en": {
        "group": ["the drivers", "my colleagues", "the passengers", "the kids", "our neighbours", "the students",
                  "the trains", "the buses", "the cats", "my cousins", "the nurses", "the teachers", "the volunteers"],
        "group_sg": ["driver", "passenger", "neighbour", "student", "teacher", "nurse", "cyclist", "runner"],
        "neg_adj": ["late", "tired", "busy", "on time", "early", "hungry", "ready", "happy", "quiet", "lovely",
                    "helpful", "kind", "full", "cold", "brilliant"],
        "neg_noun": ["heroes", "legends", "good people", "friends", "lifesavers", "champions", "angels", "pros"],
        "emotion": ["love", "admire", "miss", "really like", "am grateful to", "am proud of", "respect"],
        "threat": ["thank", "meet", "call", "help", "visit", "hug", "invite", "pick up", "drive", "feed"],
        "insult": ["mate", "buddy", "champ", "friend", "legend", "darling", "neighbour", "sunshine"],
        "swear": ["wow", "gosh", "oh dear", "blimey", "phew", "yay", "oops"],
        "lex": ["friend", "star", "hero", "genius", "sweetheart", "legend"],
    },
    "fr": {
        "group": ["les chauffeurs", "mes collègues", "les passagers", "les enfants", "nos voisins", "les étudiants",
                  "les trains", "les bus", "les chats", "mes cousins", "les infirmières", "les profs", "les bénévoles"],
        "group_sg": ["un chauffeur", "un passager", "un voisin", "un étudiant", "un prof", "un cycliste", "un coureur"],
        "neg_adj": ["en retard", "fatigués", "occupés", "à l'heure", "en avance", "affamés", "prêts", "contents",
                    "calmes", "adorables", "serviables", "gentils", "complets", "géniaux"],
        "neg_noun": ["des héros", "des champions", "des amis", "des anges", "des pros", "des gens bien", "des crèmes"],
        "emotion": ["adore", "admire", "remercie", "aime beaucoup", "respecte", "suis fier de", "apprécie"],
        "threat": ["remercier", "rencontrer", "appeler", "aider", "inviter", "embrasser", "chercher", "déposer"],
        "insult": ["copain", "champion", "mon pote", "mon ami", "voisin", "chéri", "mon grand"],
        "swear": ["oh là là", "waouh", "mince", "youpi", "bravo", "super"],
        "lex": ["ami", "champion", "génie", "amour", "crème"],
    },
}
EN_PP.update({"thank": "thanked", "meet": "met", "call": "called", "help": "helped", "visit": "visited",
              "hug": "hugged", "invite": "invited", "pick up": "picked up", "drive": "driven", "feed": "fed"})


def neutral_vocab(vocab: dict[str, list[str]], lang: str) -> dict[str, list[str]]:
    return {**vocab, **NEUTRAL[lang]}


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
        values["group_aux"] = "aux " + bare
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


def lexicon(lang: str) -> list[str]:
    """The shipped word list of a language: the profane terms the templates draw from."""
    return [t for t in (LISTS_DIR / f"{lang}.txt").read_text(encoding="utf-8").split("\n") if t]


def chat_lines(chatter: list[str], rng: random.Random) -> str:
    """One to three chatterbot-corpus lines in a row."""
    return " ".join(rng.choice(chatter) for _ in range(rng.choice([1, 1, 2, 3])))


def _disguise(text: str, filler: Filler, rng: random.Random) -> str:
    """A templated message: 30 % get one spelling trick, a fifth are embedded in filler."""
    if rng.random() < 0.3:
        text = _noise(text, rng)
    if rng.random() < 0.2:
        text = f"{filler(rng)} {text}" if rng.random() < 0.5 else f"{text} {filler(rng)}"
    return text


def _texting(text: str, lang: str, rng: random.Random) -> str:
    """Any message: 15 % of English ones in SMS spelling, 30 % of all lower-cased."""
    if lang == "en" and rng.random() < 0.15:
        text = sms_spelling(text, rng)
    if rng.random() < 0.3:
        text = text.lower()
    return text


def generate_base(lang: str, n: int, rng: random.Random) -> list[dict[str, str]]:
    """The 1.1.0 corpus (`--mix base`), kept so that profanity-enfr 1.2.0's first member
    can be rebuilt: half abusive, half clean; of the clean half a quarter chatterbot-corpus
    lines, a fifth Faker filler, the rest templates; 30 % of the templated ones get spelling
    noise and a fifth are embedded in filler."""
    filler = Filler(lang, rng.randrange(1 << 30))
    chatter = chatter_lines(lang)
    if lang == "en":
        vocab = {**EN, **EN_EXTRA, **EN_EXTRA_MORE}
        toxic, ok = EN_TOXIC, EN_OK
    else:
        vocab = {**FR, **FR_EXTRA, **FR_EXTRA_MORE}
        toxic, ok = FR_TOXIC, FR_OK
    lex = lexicon(lang)
    rows = []
    for k in range(n):
        label = "profanity_insult" if k % 2 == 0 else "ok"
        roll = rng.random()
        if label == "ok" and roll < 0.25:
            text = chat_lines(chatter, rng)
        elif label == "ok" and roll < 0.45:
            text = filler(rng)
        else:
            text = _fill(rng.choice(toxic if label != "ok" else ok), vocab, lex, rng, lang)
            text = _disguise(text, filler, rng)
        rows.append({"text": _texting(text, lang, rng), "label": label, "lang": lang})
    return rows


def generate(lang: str, n: int, rng: random.Random) -> list[dict[str, str]]:
    """`n` messages of one language, half abusive, half clean; 30 % of the templated ones get
    spelling noise.

    Clean half: 18 % chatterbot-corpus lines, 12 % Faker filler, 12 % carpool messages, 5 %
    fragments of chat lines, 15 % identity mentions, 8 % negated abuse, 12 % counter-speech
    quoting an abusive sentence, the rest the everyday and support templates. Abusive half:
    a quarter implicit derogation, negated praise and hateful questions, the rest the
    abusive templates. A fifth of the template messages of both halves is embedded in filler.
    """
    filler = Filler(lang, rng.randrange(1 << 30))
    chatter = chatter_lines(lang)
    if lang == "en":
        vocab = {**EN, **EN_EXTRA, **EN_EXTRA_MORE, **EN_IDENTITY_EXTRA}
        toxic, ok = EN_TOXIC, EN_OK
        identity, negation, counter, implicit = EN_IDENTITY_OK, EN_NEGATION_OK, EN_COUNTER, EN_IMPLICIT_TOXIC
    else:
        vocab = {**FR, **FR_EXTRA, **FR_EXTRA_MORE, **FR_IDENTITY_EXTRA}
        toxic, ok = FR_TOXIC, FR_OK
        identity, negation, counter, implicit = FR_IDENTITY_OK, FR_NEGATION_OK, FR_COUNTER, FR_IMPLICIT_TOXIC
    quotable = [t for t in toxic if "roup" in t] + implicit
    lex = lexicon(lang)
    neutral = neutral_vocab(vocab, lang)
    rows = []
    for k in range(n):
        label = "profanity_insult" if k % 2 == 0 else "ok"
        roll = rng.random()
        if label == "ok" and roll < 0.18:
            text = chat_lines(chatter, rng)
        elif label == "ok" and roll < 0.30:
            text = filler(rng)
        elif label == "ok" and roll < 0.42:
            text = carpool_message(lang, rng)
        elif label == "ok" and roll < 0.47:
            text = fragment(chatter, rng) if rng.random() < 0.4 else sms_message(lang, rng)
        elif label == "ok" and roll < 0.55:
            text = _fill(rng.choice(toxic + implicit), neutral, NEUTRAL[lang]["lex"], rng, lang)
        else:
            if label == "ok":
                if roll < 0.66:
                    template = rng.choice(identity)
                elif roll < 0.72:
                    template = rng.choice(negation)
                elif roll < 0.84:
                    quote = _fill(rng.choice(quotable), vocab, lex, rng, lang).rstrip(".!")
                    template = rng.choice(counter).replace("{q}", quote.replace("{", "(").replace("}", ")"))
                else:
                    template = rng.choice(ok)
            else:
                template = rng.choice(implicit if roll < 0.25 else toxic)
            text = _fill(template, vocab, lex, rng, lang)
            text = _disguise(text, filler, rng)
        rows.append({"text": _texting(text, lang, rng), "label": label, "lang": lang})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--per-lang", type=int, default=12000)
    parser.add_argument("--mix", choices=("context", "base"), default="context",
                        help="context: the 1.2.0 corpus (default); base: the 1.1.0 corpus")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    make = generate if args.mix == "context" else generate_base
    rows = make("en", args.per_lang, rng) + make("fr", args.per_lang, rng)
    with args.out.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"seed {args.seed}: wrote {len(rows)} rows to {args.out}")


if __name__ == "__main__":
    main()
