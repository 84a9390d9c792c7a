"""Bandstand: a Django-like, async-first web stack on Litestar, Piccolo ORM and Piccolo Admin."""

__version__ = "0.6.0"
