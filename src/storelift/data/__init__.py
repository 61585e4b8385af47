"""Getting a store's data in: readers, format adapters, validation, pseudonymization, ingest."""
