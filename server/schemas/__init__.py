"""marshmallow schemas for request bodies, query strings and responses."""
