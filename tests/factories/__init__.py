"""Builders of gateway objects for the tests, one module per subject.

Every builder returns a plain dict shaped like the admin API's examples, takes a readable name and
keyword overrides, and gets its id from the one scheme in :mod:`tests.factories.ids`. Defaults
describe a well-configured object that no rule flags, so a test states only what it changes; an
override set to :data:`tests.factories.ids.DROP` leaves the field out (a tenant's API omitting it).
"""
