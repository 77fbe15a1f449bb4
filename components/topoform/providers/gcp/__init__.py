"""gcp site: planning profile (pure) and components (import the SDK lazily)."""
