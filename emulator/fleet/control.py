"""Fleet control: the operations of `slpemu fleet status|list|add|remove|advance-clock|set-usage|reload|faults`
and the fleet page, as one small Flask application served

* on the fleet management address (plain HTTP, `http://<management>/`): the page at `/`, JSON at
  `/api/…`, and the operations as RPCs of `slpemu-control` in RESTCONF's RPC form,
  `POST /restconf/operations/slpemu-control:fleet-<operation>` with `{"slpemu-control:input": {…}}`,
  answered with `{"slpemu-control:output": {…}}` or an RFC 8040 error body;
* on a local UNIX socket, `<state dir>/control.sock`, which the `slpemu fleet …` commands use: long
  operations run as jobs (`POST /api/jobs`, then `GET /api/jobs/<id>` for their progress).

RPC inputs (all optional unless said; `devices` is a list of device ids, default every device):
  fleet-status {} · fleet-list {devices} · fleet-add {device: {hostname (required), platform, release, serial,
  address, ports, users}} · fleet-remove {id (required)} · fleet-advance-clock {seconds | days, step-seconds} ·
  fleet-set-usage {license (required), count (default 1), devices} · fleet-reload {devices} ·
  fleet-faults {action: inject|clear|list (default list), kind, target, count, seconds, devices} ·
  fleet-inventory {format: pyats|ansible|csv|netbox-csv|json}
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import threading
import time
from datetime import datetime, timezone

from flask import Flask, Response, jsonify, request

from ..engine.errors import DeviceError
from .inventory import InventoryError

log = logging.getLogger(__name__)

OPERATIONS = ("status", "list", "add", "remove", "advance-clock", "set-usage", "reload", "faults", "inventory")
JOBS_KEPT = 50


class ControlError(ValueError):
    pass


class Operations:
    """The fleet operations, each taking the RPC input (a dict) and a progress callback."""

    def __init__(self, service):
        self.service = service
        self.fleet = service.fleet

    def run(self, op: str, data: dict | None, progress=None) -> dict:
        data = data or {}
        if not isinstance(data, dict):
            raise ControlError("the input must be an object")
        fn = getattr(self, "op_" + op.replace("-", "_"), None)
        if fn is None or op not in OPERATIONS:
            raise ControlError(f"unknown operation {op!r}; known: {', '.join(OPERATIONS)}")
        return fn(data, progress or (lambda done, total: None))

    @staticmethod
    def _devices(data: dict) -> list[str] | None:
        ids = data.get("devices")
        if ids is None:
            return None
        if isinstance(ids, str):
            ids = [i for i in ids.split(",") if i]
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise ControlError("devices must be a list of device ids")
        return ids

    @staticmethod
    def _number(data: dict, key: str, default=None, minimum=0):
        value = data.get(key, default)
        if value is None:
            return None
        if isinstance(value, str):
            try:
                value = float(value) if "." in value else int(value)
            except ValueError:
                raise ControlError(f"{key}: {value!r} is not a number") from None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < minimum:
            raise ControlError(f"{key}: {value!r} must be a number ≥ {minimum}")
        return value

    def op_status(self, data, progress):
        status = self.service.status()
        return status

    def op_list(self, data, progress):
        ids = self._devices(data)
        wanted = set(ids) if ids else None
        if ids:
            self.fleet.resolve(ids)                 # unknown ids are an error
        return {"device": [d for d in self.fleet.devices() if wanted is None or d["id"] in wanted]}

    def op_add(self, data, progress):
        fields = data.get("device", data)
        slot = self.fleet.add(dict(fields))
        return {"device": [self.fleet.device_summary(slot)]}

    def op_remove(self, data, progress):
        ident = data.get("id") or data.get("hostname")
        if not isinstance(ident, str) or not ident:
            raise ControlError("remove: give the id of the device")
        spec = self.fleet.remove(ident)
        return {"removed": spec.id, "address": spec.address}

    def op_advance_clock(self, data, progress):
        seconds = self._number(data, "seconds")
        days = self._number(data, "days")
        if seconds is None and days is None:
            raise ControlError("advance-clock: give seconds or days")
        total = (seconds or 0) + (days or 0) * 86400
        step = self._number(data, "step-seconds", minimum=1)
        return self.fleet.advance_clock(total, step=step, progress=progress)

    def op_set_usage(self, data, progress):
        name = data.get("license")
        if not isinstance(name, str) or not name:
            raise ControlError("set-usage: give the license (e.g. network-advantage)")
        count = self._number(data, "count", default=1)
        results = self.fleet.each(self._devices(data), lambda d: d.set_usage(name, int(count)).name, progress)
        return _results(results)

    def op_reload(self, data, progress):
        return _results(self.fleet.each(self._devices(data), lambda d: d.reload(), progress))

    def op_faults(self, data, progress):
        action = data.get("action", "list")
        ids = self._devices(data)
        if action == "inject":
            kind = data.get("kind", "unreachable")
            target = data.get("target", "any")
            count = self._number(data, "count", minimum=1)
            seconds = self._number(data, "seconds", minimum=1)
            fn = lambda d: d.inject_fault(kind, target, int(count) if count else None, seconds)  # noqa: E731
        elif action == "clear":
            fn = lambda d: d.clear_faults()  # noqa: E731
        elif action == "list":
            fn = lambda d: [_jsonable(dataclasses.asdict(f)) for f in d.faults()]  # noqa: E731
        else:
            raise ControlError(f"faults: action {action!r} must be inject, clear or list")
        return _results(self.fleet.each(ids, fn, progress))

    def op_inventory(self, data, progress):
        from .export import render_inventory
        fmt = data.get("format", "json")
        return {"format": fmt, "text": render_inventory(self.fleet.devices(), fmt, name=self.fleet.plan.name,
                                                        users=dict(self.fleet.plan.defaults.get("users") or {}))}


def _results(results: dict) -> dict:
    failed = {k: v["error"] for k, v in results.items() if not v["ok"]}
    return {"devices": len(results), "failed": len(failed),
            "errors": [{"id": k, "error": e} for k, e in sorted(failed.items())][:100],
            "results": [{"id": k, "result": _jsonable(v.get("result"))} for k, v in results.items() if v["ok"]][:1000]}


def _jsonable(value):
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return str(value)


class Job:
    _ids = itertools.count(1)

    def __init__(self, op: str):
        self.id = next(self._ids)
        self.op = op
        self.state = "running"
        self.done = 0
        self.total = 0
        self.result = None
        self.error = None
        self.started = time.time()

    def progress(self, done: int, total: int) -> None:
        self.done, self.total = done, total

    def to_dict(self) -> dict:
        return {"id": self.id, "op": self.op, "state": self.state, "done": self.done, "total": self.total,
                "result": self.result, "error": self.error, "elapsed": round(time.time() - self.started, 3)}


def create_control_app(service) -> Flask:
    app = Flask("slpemu.fleet")
    ops = Operations(service)
    jobs: dict[int, Job] = {}
    jobs_lock = threading.Lock()

    def error(status: int, message: str, tag: str = "invalid-value"):
        body = {"ietf-restconf:errors": {"error": [{"error-type": "application", "error-tag": tag,
                                                    "error-message": message}]}}
        resp = jsonify(body)
        resp.status_code = status
        resp.content_type = "application/yang-data+json"
        return resp

    def run(op, data, progress=None):
        try:
            return ops.run(op, data, progress), None
        except (ControlError, InventoryError, DeviceError) as exc:
            return None, str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        except OSError as exc:                       # a listener that cannot bind
            return None, str(exc)

    @app.get("/")
    def page():
        from .page import render_page
        return Response(render_page(service), content_type="text/html; charset=utf-8")

    @app.get("/api/status")
    def api_status():
        return jsonify(service.status())

    @app.get("/api/devices")
    def api_devices():
        return jsonify({"device": service.fleet.devices()})

    @app.post("/restconf/operations/slpemu-control:fleet-<op>")
    def rpc(op):
        body = request.get_json(silent=True, force=True) if request.data else {}
        if request.data and body is None:
            return error(400, "the body is not JSON", "malformed-message")
        data = (body or {}).get("slpemu-control:input", {}) if isinstance(body, dict) else None
        if op not in OPERATIONS:
            return error(404, f"no RPC slpemu-control:fleet-{op}", "operation-not-supported")
        result, err = run(op, data)
        if err is not None:
            return error(400, err)
        return Response(_dumps({"slpemu-control:output": result}), content_type="application/yang-data+json")

    @app.post("/api/jobs")
    def start_job():
        body = request.get_json(silent=True, force=True)
        if not isinstance(body, dict) or body.get("op") not in OPERATIONS:
            return error(400, f"a job needs {{op, input}} with op one of {', '.join(OPERATIONS)}")
        job = Job(body["op"])
        with jobs_lock:
            jobs[job.id] = job
            for old in sorted(jobs)[:-JOBS_KEPT]:
                if jobs[old].state != "running":
                    del jobs[old]

        def work():
            result, err = run(job.op, body.get("input") or {}, job.progress)
            job.result, job.error = result, err
            job.state = "failed" if err else "done"
        threading.Thread(target=work, name=f"fleet-job-{job.id}", daemon=True).start()
        resp = jsonify(job.to_dict())
        resp.status_code = 202
        return resp

    @app.get("/api/jobs/<int:job_id>")
    def job_status(job_id):
        job = jobs.get(job_id)
        if job is None:
            return error(404, f"no job {job_id}")
        return jsonify(job.to_dict())

    return app


def _dumps(obj) -> str:
    import json
    return json.dumps(obj, default=str)


def iso(t: float | None) -> str:
    if t is None:
        return ""
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")
