"""Chat: turning a follow-up question ("when did she leave?") into a standalone one from the conversation so far.
`mentions` finds the names and descriptions a turn refers to, `followup` resolves the follow-up with them. Plain text
work with no models: it imports nothing from `service` (nor `index`), and the HTTP edge and `eval` use it.
"""
