"""Personal data: masking for examples and feedback, keyed pseudonymisation of identifiers."""
