"""Superset's configuration (SUPERSET_CONFIG_PATH points here). Runs inside the Superset virtualenv:
standard library only, never imports the project.

Everything comes from the environment that `supervision bi up` sets:
  SUPERVISION_BI_HOME     metadata (SQLite) and Superset's data dir, under $SUPERVISION_HOME/bi
  SUPERVISION_BI_SECRETS  the secrets folder: superset_secret_key, bi_logins.json (both 0600)
  SUPERVISION_BI_WAREHOUSE_DB  name of the warehouse database

Per-bureau isolation has ONE source of truth, PostgreSQL's row-level security: the warehouse connection
in Superset is `bi_reader` (which sees no rows), and DB_CONNECTION_MUTATOR swaps it, per query, for the
login role of the bureau the Superset user belongs to (Superset role `bureau_<code>` -> PostgreSQL login
`sup_<code>`; `bureau_hq` -> `sup_hq`, all bureaus). A user without exactly one bureau role keeps
`bi_reader` and sees nothing. Query results are never cached (NullCache), so no bureau is ever served
another bureau's cached result.
"""

import json
import logging
import os
from pathlib import Path

_HOME = Path(os.environ["SUPERVISION_BI_HOME"])
_SECRETS = Path(os.environ["SUPERVISION_BI_SECRETS"])
_WAREHOUSE_DB = os.environ.get("SUPERVISION_BI_WAREHOUSE_DB", "supervision")

SECRET_KEY = (_SECRETS / "superset_secret_key").read_text().strip()
# SQLite for the metadata: one gunicorn worker with 8 threads, and Superset writes an event row for most
# requests; a dashboard's chart requests arrive together. `supervision bi up` puts the file in WAL mode
# (readers never wait for the writer) and a writer waits up to 30 s for the lock instead of pysqlite's 5 s.
SQLALCHEMY_DATABASE_URI = f"sqlite:///{_HOME / 'superset.db'}?check_same_thread=false&timeout=30"
DATA_DIR = str(_HOME)
UPLOAD_FOLDER = str(_HOME / "uploads")

# Never cache query results (see above); UI state (filters, explore form data) in process memory.
CACHE_CONFIG = {"CACHE_TYPE": "NullCache"}
DATA_CACHE_CONFIG = {"CACHE_TYPE": "NullCache"}
_STATE_CACHE = {"CACHE_TYPE": "SimpleCache", "CACHE_DEFAULT_TIMEOUT": 86400, "CACHE_THRESHOLD": 5000}
FILTER_STATE_CACHE_CONFIG = dict(_STATE_CACHE)
EXPLORE_FORM_DATA_CACHE_CONFIG = dict(_STATE_CACHE)

# Offline: no telemetry, no external map tiles or fonts.
SCARF_ANALYTICS = False
# DASHBOARD_VIRTUALIZATION off: every chart of a dashboard renders, also below the fold (screenshots, print)
FEATURE_FLAGS = {"DASHBOARD_RBAC": False, "ENABLE_TEMPLATE_PROCESSING": False, "DASHBOARD_VIRTUALIZATION": False}
MAPBOX_API_KEY = ""
BABEL_DEFAULT_LOCALE = "en"
SUPERSET_WEBSERVER_TIMEOUT = 120
SQLLAB_CTAS_NO_LIMIT = False
PREVENT_UNSAFE_DB_CONNECTIONS = True
TALISMAN_ENABLED = False  # served on 127.0.0.1 over plain HTTP, no HTTPS redirects
WTF_CSRF_ENABLED = True
SESSION_COOKIE_SAMESITE = "Lax"
# Superset's own records go to stderr, which `supervision bi up` captures into superset.log: warnings and
# errors only (INFO is a line per start-up step).
LOG_LEVEL = logging.WARNING
# ...except one known line per page view: the 6.1.0 wheel lacks the source SVG of its default spinner
logging.getLogger("superset.views.base").addFilter(
    lambda record: not record.getMessage().startswith("Could not load default spinner SVG"))
CONTENT_SECURITY_POLICY_WARNING = False  # Talisman off on purpose (above): not a line at every start


def _session_interface():
    """Flask's signed-cookie sessions, except that a background request (fetch, beacon: the browser's
    Sec-Fetch-Mode is not "navigate") that arrived without a signed-in user never rewrites the cookie.

    Why: the session is the cookie, so concurrent requests race and the last response wins. The login
    page logs a `spa_navigation` event, and Superset's frontend sends buffered events as a beacon (POST
    /superset/log/) a second after the last one; a login submitted within that second races the beacon,
    which carries the logged-out cookie. Superset refuses the beacon (a flash "Access is Denied", and
    Flask-Login marks the session not fresh), so its response sets the logged-out session. On a busy
    machine it can reach the browser after the login's response (Chromium applies it even after the page
    has moved on): the browser holds the logged-out session again, the welcome page (already requested)
    still opens, and the next page goes back to /login/. Nothing a logged-out page sends in the background
    has anything to keep in the session (its CSRF token comes with the page, a navigation), so those
    responses leave the cookie alone; the beacon is still refused.
    Requests of signed-in users, navigations, and clients that send no Sec-Fetch-Mode are unchanged
    (browsers send it to localhost and over https; over plain http to another host they do not, and there
    the race remains possible)."""
    from flask import request
    from flask.sessions import SecureCookieSessionInterface

    class Sessions(SecureCookieSessionInterface):
        def open_session(self, app, req):
            session = super().open_session(app, req)
            if session is not None:
                session.arrived_signed_in = "_user_id" in session
            return session

        def save_session(self, app, session, response):
            background = request.headers.get("Sec-Fetch-Mode", "navigate") != "navigate"
            if background and not getattr(session, "arrived_signed_in", True):
                if session.accessed:
                    response.vary.add("Cookie")
                return
            super().save_session(app, session, response)

    return Sessions()


def FLASK_APP_MUTATOR(app):  # noqa: N802 (Superset's name)
    app.session_interface = _session_interface()


def _logins() -> dict:
    return json.loads((_SECRETS / "bi_logins.json").read_text())


def _bureau_login(username, security_manager):
    if not username:
        return None
    user = security_manager.find_user(username=username)
    if user is None:
        return None
    codes = {r.name[len("bureau_"):] for r in user.roles if r.name.startswith("bureau_")}
    if "hq" in codes:
        return "sup_hq"
    if len(codes) == 1:
        return "sup_" + codes.pop()
    return None


def DB_CONNECTION_MUTATOR(uri, params, username, security_manager, source):  # noqa: N802 (Superset's name)
    if uri.database != _WAREHOUSE_DB or uri.username != "bi_reader":
        return uri, params
    login = _bureau_login(username, security_manager)
    if login is None:
        return uri, params
    password = _logins()["postgres"].get(login)
    if password is None:
        return uri, params
    return uri.set(username=login, password=password), params


# The project's offline data-quality pages (include/bi/dq_pages.py), served to logged-in users: a bureau's
# users read their bureau's folder only, HQ reads every folder. Linked from the 数据质量 dashboard.
def _dq_blueprint():
    from flask import Blueprint, abort, redirect, send_from_directory
    from flask_login import current_user

    bp = Blueprint("supervision_dq", __name__, url_prefix="/supervision/dq")
    root = _HOME / "dq_pages"

    def allowed() -> set | None:
        if not current_user.is_authenticated:
            abort(401)
        codes = {r.name[len("bureau_"):].upper() for r in current_user.roles if r.name.startswith("bureau_")}
        return None if "HQ" in codes else codes  # None: every bureau

    @bp.route("/")
    def index():
        codes = allowed()
        bureaus = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
        visible = [b for b in bureaus if codes is None or b in codes]
        if len(visible) == 1:
            return redirect(f"/supervision/dq/{visible[0]}/index.html")
        links = "".join(f'<li><a href="/supervision/dq/{b}/index.html">{b}</a></li>' for b in visible)
        return f'<!doctype html><meta charset="utf-8"><h1>数据质量报送页 Data-quality pages</h1><ul>{links}</ul>'

    @bp.route("/<bureau>/<path:name>")
    def page(bureau, name):
        codes = allowed()
        if codes is not None and bureau not in codes:
            abort(403)
        return send_from_directory(root / bureau, name)

    return bp


BLUEPRINTS = [_dq_blueprint()]
