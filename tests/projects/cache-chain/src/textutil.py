"""Text helpers for the letters notebook."""


def shout(text):
    return text.upper()
