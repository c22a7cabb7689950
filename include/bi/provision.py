"""Provision Superset from the repository: users, roles and the assets in `bi/assets/`.

Runs INSIDE the Superset virtualenv (`<venv>/bin/python provision.py`), standard library + Superset only;
`include.bi.cli` hands it a JSON document on stdin:
  {"assets": "<dir>", "warehouse_uri": "postgresql+psycopg2://bi_reader:...@127.0.0.1:5432/supervision",
   "bureaus": [["ZJ", "浙江监管局", "Zhejiang Regulatory Bureau"], ...], "admin_password": "...",
   "users": {"sup_zj": "<password>", ...}}
Idempotent: users are created or their password reset, roles are (re)granted, every asset is imported
with overwrite (the repository is the source of truth; edits made in the UI are replaced on `up`).
"""

import json
import sys
from pathlib import Path

WAREHOUSE_YAML = "databases/warehouse.yaml"


def _contents(assets: Path, warehouse_uri: str) -> dict:
    import yaml

    contents = {}
    for f in sorted(assets.rglob("*.yaml")):
        rel = f.relative_to(assets).as_posix()
        text = f.read_text(encoding="utf-8")
        if rel == WAREHOUSE_YAML:
            doc = yaml.safe_load(text)
            doc["sqlalchemy_uri"] = warehouse_uri
            text = yaml.safe_dump(doc, allow_unicode=True)
        contents[rel] = text
    return contents


def _ensure_user(sm, username, first, last, password, roles):
    user = sm.find_user(username=username)
    if user is None:
        user = sm.add_user(username, first, last, f"{username}@localhost.invalid", roles, password=password)
        if not user:
            raise SystemExit(f"superset: could not create user {username}")
    else:
        user.roles = roles
        user.active = True
        sm.update_user(user)
        sm.reset_password(user.id, password)
    return user


def main() -> int:
    cfg = json.load(sys.stdin)
    from superset.app import create_app

    app = create_app()
    with app.app_context():
        from flask import g
        from superset import db
        from superset import security_manager as sm
        from superset.commands.importers.v1.assets import ImportAssetsCommand

        supervisor = sm.add_role("Supervisor")
        for perm, view in (("all_datasource_access", "all_datasource_access"),
                           ("all_database_access", "all_database_access")):
            sm.add_permission_role(supervisor, sm.add_permission_view_menu(perm, view))
        gamma, admin_role = sm.find_role("Gamma"), sm.find_role("Admin")
        bureau_roles = {code: sm.add_role(f"bureau_{code.lower()}") for code, _zh, _en in cfg["bureaus"]}
        admin = _ensure_user(sm, "admin", "Supervision", "Administrator", cfg["admin_password"],
                             [admin_role, bureau_roles["HQ"]])
        for code, name_zh, name_en in cfg["bureaus"]:
            username = f"sup_{code.lower()}"
            _ensure_user(sm, username, name_zh, name_en, cfg["users"][username],
                         [gamma, supervisor, bureau_roles[code]])
        db.session.commit()

        g.user = admin
        contents = _contents(Path(cfg["assets"]), cfg["warehouse_uri"])
        ImportAssetsCommand(contents).run()
        db.session.commit()
    print(json.dumps({"imported": len(contents)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
