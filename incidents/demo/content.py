"""The demo post-mortem's words, as plain data; sections.py turns them into rows.

Retold from the MoodMash outage of 2 January 2026 in this project's own words. Deployment
references are symbolic ("broken", "rollback") and owners are demo usernames, so this module
needs no database.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from incidents.models import ActionItem, Cause, FinalNote, Horizon, Lesson, StatusItem
from incidents.models import TimelineEvent as Event

EDITOR = "demo-editor"
ADMIN = "demo-admin"
INCIDENT_DAY = date(2026, 1, 2)


def at(hour: int, minute: int) -> datetime:
    """A moment on the day of the outage, in UTC."""
    return datetime(2026, 1, 2, hour, minute, tzinfo=UTC)


TITLE = "MoodMash down: a production deploy shipped without its worker"

INCIDENT: dict[str, Any] = {
    "status_line": "Resolved: moodmash.win is serving again after a rollback",
    "summary": (
        "At 06:01 UTC a deploy sent a `dist/` folder to production that held the static assets "
        "but not `_worker.js`, the compiled backend. With no worker to run, Cloudflare Pages "
        "answered **404 to every request** from 06:02 until a rollback went live at 06:17.\n\n"
        "The folder was incomplete because the build had been failing for weeks without "
        "anyone noticing: Vite stalls for over a minute and never writes the worker. Nothing "
        "between the build and the deploy looked for the file."
    ),
    "impact": (
        "- moodmash.win was completely unavailable for 16 minutes (06:02 to 06:18 UTC).\n"
        "- Every page and every API route answered 404: nobody could sign in, register or use "
        "the app.\n"
        "- The database and storage were untouched; only the code that serves them was missing."
    ),
    "resolution": (
        "Production was rolled back to deployment `5be8c75c-4018-4ed9-8ad4-ee4e7ea1adec` "
        "(commit `dc8023d`, three days old), the most recent one known to work. Pages served it "
        "again at 06:17, and by 06:18 every health check passed."
    ),
    "next_step": (
        "Repair the build so that it writes `dist/_worker.js` again, **before any new "
        "deployment**. Expected: two to three hours to a working build, then one careful deploy "
        "that goes through preview first."
    ),
}

# (when, kind, source, deployment, text)
TIMELINE: tuple[tuple[datetime, str, str, str | None, str], ...] = (
    (at(6, 1), Event.Kind.DEPLOYMENT, Event.Source.DEPLOYMENT, "broken",
     "`dist/` deployed to production with `wrangler pages deploy`. Cloudflare accepts the "
     "upload, which contains no `_worker.js`."),
    (at(6, 2), Event.Kind.TRIGGER, Event.Source.HEALTH, None,
     "The new deployment goes live. Every route, `/` and `/api/health/status` included, now "
     "answers 404."),
    (at(6, 4), Event.Kind.DETECTED, Event.Source.MANUAL, None,
     "Outage noticed: the homepage and the API both return 404."),
    (at(6, 7), Event.Kind.ACTION, Event.Source.MANUAL, None,
     "A 404 on every path, rather than a server error, means Pages has no worker to run. "
     "Confirmed: `dist/` has no `_worker.js`."),
    (at(6, 11), Event.Kind.ACTION, Event.Source.MANUAL, None,
     "Deployment history searched for the last build that worked: `5be8c75c…` from "
     "30 December, commit `dc8023d`."),
    (at(6, 16), Event.Kind.ACTION, Event.Source.MANUAL, None,
     "Rollback started with `npx wrangler pages deployment rollback`."),
    (at(6, 17), Event.Kind.ROLLBACK, Event.Source.DEPLOYMENT, "rollback",
     "Rollback live: production serves the 30 December build again and the homepage answers "
     "200."),
    (at(6, 18), Event.Kind.RESOLVED, Event.Source.HEALTH, None,
     "All five health checks pass: homepage, API health, database, authentication and login "
     "page."),
    (at(6, 40), Event.Kind.NOTE, Event.Source.MANUAL, None,
     "The working deployment id is saved in `.last-known-good` and the rollback steps are "
     "written down."),
    (at(7, 5), Event.Kind.COMMUNICATION, Event.Source.MANUAL, None,
     "A short notice for users drafted, to send if anyone asks about the interruption."),
)  # fmt: skip

# (kind, label, detail, ok, pre_existing)
STATUS_ITEMS: tuple[tuple[str, str, str, bool | None, bool], ...] = (
    (StatusItem.Kind.CURRENT, "Homepage", "Answers 200.", True, False),
    (StatusItem.Kind.CURRENT, "API health", "Reports healthy.", True, False),
    (StatusItem.Kind.CURRENT, "Database", "Healthy.", True, False),
    (StatusItem.Kind.CURRENT, "Authentication", "Sign-in works.", True, False),
    (StatusItem.Kind.CURRENT, "Login and registration", "Both pages load.", True, False),
    (StatusItem.Kind.WORKING, "Backend API", "All 40-odd endpoints respond.", None, False),
    (StatusItem.Kind.WORKING, "Database", "D1, all 13 tables.", None, False),
    (StatusItem.Kind.WORKING, "Authentication", "Email and password, and OAuth.", None, False),
    (StatusItem.Kind.WORKING, "R2 storage", "", None, False),
    (StatusItem.Kind.WORKING, "AI integration", "", None, False),
    (StatusItem.Kind.WORKING, "Email sending", "", None, False),
    (StatusItem.Kind.WORKING, "Monitoring", "", None, False),
    (StatusItem.Kind.KNOWN_ISSUE, "Some buttons are hard to see",
     "An emergency fix is written but not deployed yet.", None, True),
    (StatusItem.Kind.KNOWN_ISSUE, "OAuth sign-in buttons do not render", "", None, True),
    (StatusItem.Kind.KNOWN_ISSUE, "The build times out",
     "It produces no `_worker.js`; see the causes.", None, True),
)  # fmt: skip

# Each cause: (kind, title, detail, deployment, children as (title, detail)).
CAUSES: tuple[tuple[str, str, str, str | None, tuple[tuple[str, str], ...]], ...] = (
    (Cause.Kind.PRIMARY, "The build had been broken for weeks and wrote no `_worker.js`",
     "Without the compiled worker, Pages had nothing to execute for any route.", "broken", ()),
    (Cause.Kind.TRIGGER, "An incomplete `dist/` was deployed straight to production",
     "", "broken", ()),
    (Cause.Kind.CONTRIBUTING, "The build system fails", "", None, (
        ("Vite gives up after more than 60 seconds", ""),
        ("Size is not the reason",
         "It fails the same way with the 8,729-line entry point and with the 221-line modular "
         "one."),
        ("Node-only dependencies are the likely reason",
         "Imports of `crypto` and `async_hooks` that the Workers runtime does not provide."),
    )),
    (Cause.Kind.CONTRIBUTING, "No checks before deploying", "", None, (
        ("Nobody looked for `_worker.js` in `dist/`", ""),
        ("The build was not run locally first", ""),
        ("The preview environment was skipped", "The deploy went directly to production."),
    )),
    (Cause.Kind.ASSUMPTION, "`dist/` was assumed to be complete",
     "Nobody knew the build had stopped producing a worker weeks earlier.", None, ()),
    (Cause.Kind.ASSUMPTION, "Recent successful deploys were taken as proof the build worked",
     "They kept working on an older worker that was still around, which hid the broken build.",
     None, ()),
)  # fmt: skip

LESSONS: tuple[tuple[str, str], ...] = (
    (Lesson.Kind.WENT_WRONG, "Nothing checked that the files the site needs were in the upload."),
    (Lesson.Kind.WENT_WRONG, "The build output was never run locally before it shipped."),
    (Lesson.Kind.WENT_WRONG, "Preview was skipped; the deploy went straight to production."),
    (Lesson.Kind.WENT_WRONG, "No list of deployments known to work was kept."),
    (Lesson.Kind.WENT_WRONG, "There was no written checklist for deploying."),
    (Lesson.Kind.WENT_RIGHT, "The symptom was read quickly: 404 everywhere meant no worker."),
    (Lesson.Kind.WENT_RIGHT, "A deployment that worked was found in the history within minutes."),
    (Lesson.Kind.WENT_RIGHT, "The rollback followed within minutes of finding that deployment."),
    (Lesson.Kind.WENT_RIGHT, "Downtime stayed at 16 minutes."),
    (Lesson.Kind.WENT_RIGHT, "The incident was written up in detail while it was fresh."),
    (Lesson.Kind.LUCKY,
     "Cloudflare still held the 30 December deployment. With the build broken there was no "
     "way to produce a working one from source, so without that copy there was nothing to "
     "roll back to."),
    (Lesson.Kind.LUCKY,
     "The failure was total and loud. A partial break, say one missing route, could have "
     "gone unseen for hours."),
)  # fmt: skip

# Each item: a dict of ActionItem fields plus "owner", "due" (days after the incident),
# "done_at" and "children" (dicts of the same shape, inheriting horizon, owner and due).
_TODAY, _WEEK = 0, 7
ACTION_ITEMS: tuple[dict[str, Any], ...] = (
    {"horizon": Horizon.IMMEDIATE, "title": "Roll production back to the last working deployment",
     "kind": ActionItem.Kind.MITIGATE, "priority": ActionItem.Priority.P1, "owner": EDITOR,
     "due": _TODAY, "done_at": at(6, 17)},
    {"horizon": Horizon.IMMEDIATE, "title": "Save the id of the working deployment",
     "detail": "`5be8c75c-4018-4ed9-8ad4-ee4e7ea1adec`, kept in `.last-known-good`.",
     "kind": ActionItem.Kind.PROCESS, "priority": ActionItem.Priority.P1, "owner": EDITOR,
     "due": _TODAY, "done_at": at(6, 40)},
    {"horizon": Horizon.IMMEDIATE, "title": "Write down how to roll back",
     "kind": ActionItem.Kind.PROCESS, "priority": ActionItem.Priority.P2, "owner": EDITOR,
     "due": _TODAY, "done_at": at(6, 45)},
    {"horizon": Horizon.IMMEDIATE, "title": "Write up the incident",
     "kind": ActionItem.Kind.PROCESS, "priority": ActionItem.Priority.P2, "owner": EDITOR,
     "due": _TODAY, "done_at": at(7, 30)},
    {"horizon": Horizon.TODAY, "title": "Get the build writing `dist/_worker.js` again",
     "kind": ActionItem.Kind.PREVENT, "priority": ActionItem.Priority.P1, "owner": EDITOR,
     "due": _TODAY, "children": (
         {"title": "Reinstall dependencies from scratch (option C)"},
         {"title": "If still broken, replace the Node-only imports (option A)"},
         {"title": "If still broken, build with a Workers-aware tool (option B)"},
         {"title": "Confirm that `dist/_worker.js` is produced"},
         {"title": "Run the result locally with `wrangler pages dev`"},
     )},
    {"horizon": Horizon.TODAY, "title": "Write the deployment checklist",
     "kind": ActionItem.Kind.PROCESS, "priority": ActionItem.Priority.P1, "owner": EDITOR,
     "due": _TODAY, "children": (
         {"title": "Keep it in `DEPLOYMENT_CHECKLIST.md`"},
         {"title": "Add the pre-deploy check script"},
         {"title": "Include the rollback steps"},
     )},
    {"horizon": Horizon.TODAY, "title": "Verify the emergency UI fix",
     "kind": ActionItem.Kind.MITIGATE, "priority": ActionItem.Priority.P2, "owner": EDITOR,
     "due": _TODAY, "children": (
         {"title": "Build it"},
         {"title": "Try it locally"},
         {"title": "Deploy it to preview"},
         {"title": "Check that the buttons show"},
     )},
    {"horizon": Horizon.THIS_WEEK, "title": "Run the build and the artifact check in CI",
     "kind": ActionItem.Kind.PREVENT, "priority": ActionItem.Priority.P1, "owner": ADMIN,
     "due": _WEEK},
    {"horizon": Horizon.THIS_WEEK, "title": "Add pre-commit hooks",
     "kind": ActionItem.Kind.PREVENT, "priority": ActionItem.Priority.P2, "owner": EDITOR,
     "due": _WEEK},
    {"horizon": Horizon.THIS_WEEK, "title": "Set up preview deployments for every change",
     "kind": ActionItem.Kind.PROCESS, "priority": ActionItem.Priority.P2, "owner": ADMIN,
     "due": _WEEK},
    {"horizon": Horizon.THIS_WEEK, "title": "Add automated and unit tests",
     "kind": ActionItem.Kind.DETECT, "priority": ActionItem.Priority.P2, "owner": EDITOR,
     "due": _WEEK},
    {"horizon": Horizon.THIS_WEEK, "title": "Ship the UI fixes, OAuth buttons included",
     "kind": ActionItem.Kind.MITIGATE, "priority": ActionItem.Priority.P2, "owner": EDITOR,
     "due": _WEEK},
    {"horizon": Horizon.THIS_WEEK, "title": "Add performance monitoring",
     "kind": ActionItem.Kind.DETECT, "priority": ActionItem.Priority.P3, "owner": ADMIN,
     "due": _WEEK},
    {"horizon": Horizon.BEFORE_NEXT_DEPLOYMENT,
     "title": "Check the build output before every deploy",
     "detail": (
         "Stop the deploy when `dist/_worker.js` or `dist/_routes.json` is missing, or when "
         "the worker is under 100 KB. Then serve `dist/` with `npx wrangler pages dev` and "
         "expect 200 from `/` and `/api/health/status`."
     ),
     "kind": ActionItem.Kind.PREVENT, "priority": ActionItem.Priority.P1, "owner": EDITOR,
     "due": 1, "blocks_deployments": True},
    {"horizon": Horizon.BEFORE_NEXT_DEPLOYMENT,
     "title": "Deploy to preview first and test it there",
     "detail": (
         "`npx wrangler pages deploy dist --project-name moodmash --branch preview`, then "
         "expect 200 from `/`, `/api/health/status` and `/login` on the preview URL. Only "
         "then deploy `main`."
     ),
     "kind": ActionItem.Kind.PROCESS, "priority": ActionItem.Priority.P1, "owner": EDITOR,
     "due": 1, "blocks_deployments": True},
    {"horizon": Horizon.BEFORE_NEXT_DEPLOYMENT,
     "title": "Note the current production deployment id before deploying",
     "kind": ActionItem.Kind.PROCESS, "priority": ActionItem.Priority.P2, "owner": ADMIN,
     "due": 1},
    {"horizon": Horizon.LONG_TERM, "title": "Move to the modular entry point",
     "kind": ActionItem.Kind.PREVENT, "priority": ActionItem.Priority.P3, "owner": EDITOR,
     "due": 30},
    {"horizon": Horizon.LONG_TERM, "title": "Alert when a health check fails",
     "kind": ActionItem.Kind.DETECT, "priority": ActionItem.Priority.P2, "owner": ADMIN,
     "due": 30},
    {"horizon": Horizon.LONG_TERM, "title": "Deploy without downtime",
     "kind": ActionItem.Kind.PREVENT, "priority": ActionItem.Priority.P3, "owner": ADMIN,
     "due": 60},
)  # fmt: skip

# (group, text, done_at or None)
SUCCESS_CRITERIA: tuple[tuple[str, str, datetime | None], ...] = (
    (Horizon.BEFORE_NEXT_DEPLOYMENT, "The build finishes in under 60 seconds", None),
    (Horizon.BEFORE_NEXT_DEPLOYMENT, "`dist/_worker.js` exists and is larger than 100 KB", None),
    (Horizon.BEFORE_NEXT_DEPLOYMENT, "A local run answers 200 on every route checked", None),
    (Horizon.BEFORE_NEXT_DEPLOYMENT, "A preview deployment was tested and works", None),
    (Horizon.BEFORE_NEXT_DEPLOYMENT, "The rollback plan is written down", at(6, 45)),
    (Horizon.BEFORE_NEXT_DEPLOYMENT, "The id of a working deployment is saved", at(6, 40)),
    (Horizon.LONG_TERM, "The build is dependable and quick", None),
    (Horizon.LONG_TERM, "Automated tests run on every change", None),
    (Horizon.LONG_TERM, "A CI/CD pipeline does the deploying", None),
    (Horizon.LONG_TERM, "Deploys cause no downtime", None),
    (Horizon.LONG_TERM, "Monitoring raises an alert when something breaks", None),
)

# Each priority: (title, urgent, detail, options as (label, title, estimate, detail)).
PRIORITIES: tuple[tuple[str, bool, str, tuple[tuple[str, str, str, str], ...]], ...] = (
    ("Fix the build", True,
     "Nothing ships until the build writes a worker again. The suspects are all Node-only "
     "code that the Workers runtime lacks:\n\n"
     "- imports of Node's `crypto` module\n"
     "- `@sentry/cloudflare`, which pulls in `node:async_hooks`\n"
     "- bcryptjs reaching for Node's crypto\n"
     "- the arctic OAuth library, not checked yet", (
         ("A", "Remove the Node-only dependencies", "2 to 3 hours",
          "Use Web Crypto (`globalThis.crypto`) where the code imports `crypto`, replace "
          "`@sentry/cloudflare` with a client that needs no Node APIs, and check bcryptjs and "
          "arctic. Known importers: `src/services/research-anonymization.ts` and "
          "`src/utils/password-validator.ts`."),
         ("B", "Build with Cloudflare's own tooling", "1 to 2 hours",
          "Try `npx wrangler pages functions build`, or run esbuild directly with the right "
          "externals."),
         ("C", "Start from a clean install", "30 minutes",
          "Delete `node_modules` and the lock file, clear the npm cache, then install and "
          "build again. The cheapest, so it goes first."),
     )),
    ("Deploy the emergency UI fixes", False,
     "Only once the build works:\n\n"
     "1. Build, and confirm `_worker.js` is there.\n"
     "2. Confirm `static/emergency-fix-v2.js` is in `dist/`.\n"
     "3. Confirm the template loads it.\n"
     "4. Deploy to preview and try the buttons.\n"
     "5. Deploy to production.", ()),
    ("Move to the modular architecture", False,
     "When the build is stable, switch to the 221-line modular `index.tsx`, test it "
     "thoroughly and ship it. The payoff is code that can be maintained.", ()),
)  # fmt: skip

FINAL_NOTES: tuple[tuple[str, str], ...] = (
    (FinalNote.Kind.ACCOMPLISHED,
     "Split the 8,729-line entry point into modules, about 97% smaller."),
    (FinalNote.Kind.ACCOMPLISHED, "Wrote a full set of UI fixes."),
    (FinalNote.Kind.ACCOMPLISHED, "Narrowed the build failure down to its likely cause."),
    (FinalNote.Kind.ACCOMPLISHED, "Wrote everything down."),
    (FinalNote.Kind.ACCOMPLISHED, "Had production back 16 minutes after it went down."),
    (FinalNote.Kind.LEARNED, "Check the files that matter before every deploy."),
    (FinalNote.Kind.LEARNED, "Run it locally before it goes anywhere else."),
    (FinalNote.Kind.LEARNED, "Use the preview environment; that is what it is for."),
    (FinalNote.Kind.LEARNED, "Keep the way back ready: a known-good id and the rollback command."),
    (FinalNote.Kind.LEARNED, "A broken build can hide for weeks when nothing looks at its output."),
    (FinalNote.Kind.MOVING_FORWARD, "Fix the build properly before anything else."),
    (FinalNote.Kind.MOVING_FORWARD, "Follow the deployment procedure every time."),
    (FinalNote.Kind.MOVING_FORWARD, "No more hurried deploys to production."),
    (FinalNote.Kind.MOVING_FORWARD, "Quality ahead of speed."),
)  # fmt: skip
