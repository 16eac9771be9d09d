"""Keys: which API keys exist in a snapshot and whether each can be used."""

from __future__ import annotations

from . import Concept

KEY_STATE = Concept(
    "key_states",
    """
    SELECT id, name, kind, user_id, group_name, created_at, expires_at, revoked_at, disabled_at, last_used_at,
           taken_at, source, key_prefix, nullif(trim(group_name), '') AS group_bound,
           nullif(trim(user_id), '') AS user_bound,
           CASE WHEN revoked_at IS NOT NULL AND revoked_at <= taken_at THEN 'revoked'
                WHEN disabled_at IS NOT NULL AND disabled_at <= taken_at THEN 'disabled'
                WHEN expires_at IS NOT NULL AND expires_at <= taken_at THEN 'expired'
                ELSE 'active' END AS state,
           state = 'active' AS active,
           coalesce(revoked_at <= taken_at, false) AS revoked,
           coalesce(expires_at <= taken_at, false) AS expired
    FROM (SELECT id, name, kind, user_id, group_name, created_at, expires_at, revoked_at, disabled_at,
                 last_used_at, taken_at, 'api_keys' AS source, key_prefix
          FROM {api_keys}
          UNION ALL
          SELECT u.id, u.name, coalesce(u.kind, 'user'), u.user_id, u.group_name, u.created_at, u.expires_at,
                 u.revoked_at, u.disabled_at, u.last_used_at, u.taken_at, 'user_api_keys', u.key_prefix
          FROM {user_api_keys} u
          WHERE u.id NOT IN (SELECT id FROM {api_keys} WHERE id IS NOT NULL))""",
    "Every API key of the snapshot, once: the admin list (api_keys) plus the caller's own keys "
    "(user_api_keys) that the admin list does not hold. state is revoked, disabled or expired when "
    "that time is at or before the snapshot's taken_at (a key disabled or revoked in the future is "
    "still active), else active; a key with no expires_at never expires. key_prefix as listed. "
    "group_bound: group_name with blanks trimmed, null when empty (an empty-string group name is no group); "
    "user_bound likewise for user_id (an empty-string user id is no user). "
    "revoked / expired: that time is at or before taken_at, whatever the other states (a disabled key "
    "that has also expired is expired: re-enabling it does not bring it back).")

CONCEPTS = (KEY_STATE,)
