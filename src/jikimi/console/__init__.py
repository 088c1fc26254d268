"""The review console (``/console``) and the public takedown form (``/report``): server-rendered
pages (Jinja2) with a little hand-written JavaScript, served by the same app as the API.

Signed-in users hold a session cookie (:mod:`jikimi.console.sessions`); every form carries a
CSRF token; roles are the service's own (:mod:`jikimi.accounts.roles`), checked on the server.
Every string is translated (:mod:`jikimi.console.i18n`: English and Korean, per user).
"""
