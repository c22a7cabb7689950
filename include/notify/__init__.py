"""Notifications (issue #16 item 4): the daily bilingual digest e-mailed to each bureau (:mod:`.digest`,
DAG ``notify_supervisors``) and the case packages exported to other agencies (:mod:`.agencies`,
``supervision notify export``). Both record what went where in ``ops.notifications`` (migration 071),
so nothing goes to the same recipient twice."""
