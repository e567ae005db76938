"""Services: take ``*, session``, never commit, raise DomainError subclasses."""
