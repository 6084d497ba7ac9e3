"""Persian understanding for Sada: normalisation, classification, places and near-duplicates.

This package imports nothing else of Sada's; the bot wires it in.
"""
