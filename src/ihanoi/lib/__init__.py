"""Pure helpers that import no models."""
