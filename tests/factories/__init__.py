"""Builders of gateway objects for the tests, one module per subject.

Every builder returns a plain dict shaped like the admin API's examples, takes a readable name and
keyword overrides, and gets its id from the one scheme in :mod:`tests.factories.ids`. Defaults
describe a well-configured object (enabled, healthy, expiring, rotated, within its limits), so a test
states only what it changes; an override set to :data:`tests.factories.ids.DROP` leaves the field out
(a tenant's API omitting it). Rules about how objects relate (a credential no provider uses, an alias
served by one route) can still fire on a lone default object.
"""
