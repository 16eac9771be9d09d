"""Endpoints: the scheme and host of every credential's and provider's base_url, parsed once the
way a WHATWG URL parser (what HTTP clients follow) reads them (``endpoint_urls``)."""

from __future__ import annotations

from . import Concept

_SQL = r"""
    WITH src AS (
        SELECT '@FAMILY@' AS family, id, name, model_provider, @ENABLED@ AS enabled, base_url, taken_at
        FROM {@FAMILY@}
    ),
    cleaned AS (
        -- leading/trailing C0 controls and spaces are stripped, tabs and newlines removed anywhere
        SELECT *, regexp_replace(regexp_replace(base_url, '^[\x00-\x20]+|[\x00-\x20]+$', '', 'g'),
                                 '[\t\n\r]', '', 'g') AS u
        FROM src
    ),
    schemed AS (
        SELECT *, lower(regexp_extract(u, '^([A-Za-z][A-Za-z0-9+.-]*):', 1)) AS scheme FROM cleaned
    ),
    rest AS (
        -- after "scheme:", special schemes treat \ as /; the authority follows any run of slashes
        SELECT *,
               CASE WHEN scheme IN ('http', 'https', 'ws', 'wss', 'ftp', 'file')
                    THEN replace(substr(u, length(scheme) + 2), '\', '/')
                    ELSE substr(u, length(scheme) + 2) END AS after_scheme
        FROM schemed
    ),
    auth AS (
        SELECT *,
               regexp_extract(CASE WHEN scheme IN ('http', 'https', 'ws', 'wss', 'ftp', 'file')
                                   THEN regexp_replace(after_scheme, '^/*', '')
                                   ELSE regexp_extract(after_scheme, '^//(.*)$', 1) END,
                              '^([^/?#]*)', 1) AS authority
        FROM rest
        WHERE scheme <> ''
    ),
    hosted AS (
        -- user information ends at the LAST @ of the authority
        SELECT *,
               strpos(authority, '@') > 0 AS has_userinfo,
               regexp_replace(authority, '^.*@', '') AS hostport
        FROM auth
    ),
    split AS (
        SELECT *,
               CASE WHEN starts_with(hostport, '[') THEN regexp_extract(hostport, '^(\[[^\]]*\])', 1)
                    ELSE regexp_extract(hostport, '^([^:]*)', 1) END AS raw_host,
               nullif(CASE WHEN starts_with(hostport, '[') THEN regexp_extract(hostport, '^\[[^\]]*\]:(.*)$', 1)
                           ELSE regexp_extract(hostport, '^[^:]*:(.*)$', 1) END, '') AS port
        FROM hosted
    ),
    normal AS (
        SELECT *,
               CASE WHEN starts_with(raw_host, '[')
                    THEN '[' || regexp_replace(regexp_replace(lower(raw_host[2:-2]), '(^|:)0+([0-9a-f])', '\1\2', 'g'),
                                               '^$', '', 'g') || ']'
                    ELSE regexp_replace(lower(url_decode(raw_host)), '\.$', '') END AS host
        FROM split
    )
    SELECT s.family, s.id, s.name, s.model_provider, s.enabled, s.base_url, s.taken_at,
           coalesce(n.scheme, '') AS scheme, n.host, n.port, coalesce(n.has_userinfo, false) AS has_userinfo,
           regexp_replace(trim(s.base_url), '^([A-Za-z][A-Za-z0-9+.-]*:[/\\]*)[^/\\?#]*@', '\1***@') AS shown_url,
           coalesce(n.host = 'localhost'
                    OR n.host IN ('[::1]', '[0:0:0:0:0:0:0:1]')
                    OR (regexp_full_match(n.host, '127(\.(0|[1-9][0-9]{{0,2}})){{3}}')
                        AND list_max(list_transform(string_split(n.host, '.'), lambda x: TRY_CAST(x AS INTEGER))) <= 255), false) AS loopback
    FROM src s
    LEFT JOIN normal n ON n.family = s.family AND n.id IS NOT DISTINCT FROM s.id
                       AND n.base_url IS NOT DISTINCT FROM s.base_url"""

_DOC = ("Every @FAMILY@ row's base_url parsed as a WHATWG URL parser "
    "reads it, the way HTTP clients do: leading/trailing spaces and controls stripped, tabs and "
    "newlines removed; scheme lower-cased ('' when the URL has none); for http(s), ws(s), ftp and file "
    "a backslash is a slash and any run of slashes precedes the authority; the authority ends at /, ?, #; "
    "user information ends at its LAST @ (has_userinfo; shown_url masks it as ***@); an IPv6 literal "
    "keeps its brackets, with leading zeros of each group dropped; any other host is percent-decoded, "
    "lower-cased and loses one trailing dot; port is what follows the host's colon. loopback is true only "
    "for localhost, [::1] (or its full form) and a dotted-decimal 127.x.y.z with octets 0-255 without "
    "leading zeros: forms a resolver might still read as loopback (127.1, 0x7f.0.0.1, octal) are not, "
    "so a rule that exempts loopback never exempts a host it cannot be sure of. Columns: family, id, name, "
    "model_provider, enabled (providers; null for credentials), base_url, taken_at, scheme, host, port, "
    "has_userinfo, shown_url, loopback.")


def _concept(name: str, family: str, enabled: str) -> Concept:
    return Concept(name, _SQL.replace("@FAMILY@", family).replace("@ENABLED@", enabled),
                   _DOC.replace("@FAMILY@", family))


CONCEPTS = (_concept("credential_urls", "credentials", "NULL::BOOLEAN"),
            _concept("provider_urls", "providers", "enabled"))
