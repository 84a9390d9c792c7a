"""The framework's AI parts: LLM providers (`providers`), the call log every call is written
to (`calls`), what each model costs (`prices`) and what each user may spend (`budgets`)."""
