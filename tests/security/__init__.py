"""The security test suite: attacks on the API, each expected to fail safely."""
