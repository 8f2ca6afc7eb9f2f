"""What every HTTP surface shares: who is calling, and what each route needs.

``andon.http.auth`` resolves the caller of a request from a bearer token or the session cookie,
declares per route the one permission it needs (``needs``), and guards cookie posts with CSRF
tokens. The JSON API (``andon.api``) and the web inbox (``andon.web``) both stand on it, so
neither imports the other to authenticate. Good means: no route without a declared permission
(``PUBLIC_ROUTES`` aside), secrets never logged, one answer for unknown and wrong credentials.
"""
