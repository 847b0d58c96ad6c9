// Package console is the staff web console and its JSON API (/api/v1), on
// its own listener apart from the webhooks.
//
// Pages are server-rendered html/template with embedded assets only (no CDN,
// no inline script: a strict Content-Security-Policy), usable without
// JavaScript and laid out for a phone first, in the five languages of Enlace
// (locales/*.toml; a test holds every language complete). Sessions are the
// staff package's server-side sessions in a `__Host-` cookie (HttpOnly,
// Secure, SameSite=Strict); net/http's CrossOriginProtection refuses
// cross-site requests that change anything. The API takes a personal token
// (Authorization: Bearer) or the session, and is described by the OpenAPI
// document served at /api/v1/openapi.json.
package console
