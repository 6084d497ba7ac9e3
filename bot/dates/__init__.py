"""Time as Tehran keeps it: the injectable clock, Jalali dates and Persian digits, and the
working-day calendar that SLA deadlines count in. Pure functions and small value types; imports
only the standard library, `jdatetime` and `nlp.letters` (digit scripts), nothing else from
`bot`.
"""
