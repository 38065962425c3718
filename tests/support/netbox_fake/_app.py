"""A fake NetBox 4.2 REST API: real HTTP, NetBox's wire format, every body checked against
NetBox's own OpenAPI schema (requests the client sends and answers this fake gives).

Faults (``inject``) stand for NetBox under load: an error answer before anything happened
(429, 5xx), the same after NetBox applied the write (``after=True``: a proxy's 502/503/504
once NetBox committed), an answer held past the client's timeout (``hold``; ``status=0``
keeps NetBox's real answer, only late), or a write NetBox applies only after holding it
(``late=True``: it commits after the client gave up). ``pace`` makes every write take that
many seconds per object. Deletes cascade as NetBox 4.2's models do (``_remove``)."""

from __future__ import annotations

import asyncio
import copy
import ipaddress
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from support.netbox_fake._rules import (
    UNIQUE,
    assignment_errors,
    drf_message,
    interface_errors,
    related_errors,
)
from support.netbox_fake._schema import Schema, load_schema
from support.netbox_fake._store import COLLECTIONS, Store

__all__ = ["FakeNetBox", "Fault"]

_PAGING = {"limit", "offset", "brief", "ordering"}
DEFAULT_PAGE, MAX_PAGE = 50, 1000


@dataclass
class Fault:
    status: int  # 0: NetBox's own answer (with ``hold``: late)
    count: int = 1
    skip: int = 0
    retry_after: str | None = None
    method: str | None = None
    after: bool = False  # the write is applied, then this is the answer
    hold: float = 0.0  # seconds before answering (after applying; before, with ``late``)
    late: bool = False  # the write is applied only after the hold
    path: str | None = None  # only requests to this path (``/api/dcim/interfaces/``)


@dataclass
class FakeNetBox:
    token: str
    base_url: str = "http://127.0.0.1"
    schema: Schema = field(default_factory=load_schema)
    version: str = "4.2.9"

    def __post_init__(self) -> None:
        self.store = Store(self.schema, self.base_url)
        self.faults: list[Fault] = []
        self.log: list[tuple[str, str, str]] = []  # method, path, query
        #: every write as received: method, path, number of objects in its body
        self.write_sizes: list[tuple[str, str, int]] = []
        self.pace = 0.0  # seconds each object of a write takes
        #: collections listed newest first (NetBox orders MACs by address alone, so copies of
        #: one address come in no fixed order)
        self.reverse: set[str] = set()
        self.violations: list[str] = []
        self.app = Starlette(
            routes=[
                Route("/api/{path:path}", self._handle, methods=["GET", "POST", "PATCH", "DELETE"])
            ]
        )

    # --- test helpers ---------------------------------------------------------------------

    def inject(
        self,
        status: int,
        *,
        count: int = 1,
        skip: int = 0,
        retry_after: str | None = None,
        method: str | None = None,
        after: bool = False,
        hold: float = 0.0,
        late: bool = False,
        path: str | None = None,
    ) -> None:
        self.faults.append(Fault(status, count, skip, retry_after, method, after, hold, late, path))

    def writes(self) -> list[tuple[str, str, str]]:
        return [entry for entry in self.log if entry[0] != "GET"]

    def add(self, collection: str, **data: Any) -> dict[str, Any]:
        """Seed an object as an administrator would (no schema check; ids for relations)."""
        return self.store.put(collection, data)

    # --- dispatch -------------------------------------------------------------------------

    async def _handle(self, request: Request) -> Response:
        path = "/api/" + request.path_params["path"]
        self.log.append((request.method, path, request.url.query))
        auth = request.headers.get("authorization", "")
        if not auth:
            return JSONResponse({"detail": "Authentication credentials were not provided."}, 403)
        if auth != f"Token {self.token}":
            return JSONResponse({"detail": "Invalid token"}, 403)
        if request.method != "GET":
            await request.body()  # received whole before anything is held (it is cached)
        fault = self._fault(request.method, path)
        if fault is not None and not (fault.after or fault.late or fault.hold):
            return self._failure(fault)
        if fault is not None and fault.late:
            await asyncio.sleep(fault.hold)
        response = await self._serve(request, path)
        if fault is not None and fault.hold and not fault.late:
            await asyncio.sleep(fault.hold)
        return response if fault is None or not fault.status else self._failure(fault)

    @staticmethod
    def _failure(fault: Fault) -> Response:
        headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
        detail = "Request was throttled." if fault.status == 429 else "Server Error"
        return JSONResponse({"detail": detail}, fault.status, headers=headers)

    async def _serve(self, request: Request, path: str) -> Response:
        if path == "/api/status/":
            return self._answer(
                path,
                "get",
                200,
                {"netbox-version": self.version, "python-version": "3.12.3", "plugins": {}},
            )
        collection, oid = self._route(path)
        if collection is None:
            return JSONResponse({"detail": "Not found."}, 404)
        body = (
            await request.json()
            if request.method in ("POST", "PATCH", "DELETE") and await request.body()
            else None
        )
        if body is not None:
            count = len(body) if isinstance(body, list) else 1
            self.write_sizes.append((request.method, path, count))
            if self.pace:
                await asyncio.sleep(self.pace * count)
        if request.method == "GET":
            return self._list(request, collection)
        if request.method == "POST" and oid is None:
            return self._create(collection, body)
        if request.method == "PATCH" and oid is None:
            return self._update(collection, body)
        if request.method == "DELETE" and oid is None:
            return self._delete(collection, body)
        return JSONResponse({"detail": f'Method "{request.method}" not allowed here.'}, 405)

    def _fault(self, method: str, path: str) -> Fault | None:
        for fault in self.faults:
            if (fault.method and fault.method != method) or (fault.path and fault.path != path):
                continue
            if fault.skip:
                fault.skip -= 1
                return None
            fault.count -= 1
            if fault.count <= 0:
                self.faults.remove(fault)
            return fault
        return None

    @staticmethod
    def _route(path: str) -> tuple[str | None, int | None]:
        parts = path.strip("/").split("/")[1:]
        name = "/".join(parts[:2])
        if name not in COLLECTIONS:
            return None, None
        return name, int(parts[2]) if len(parts) > 2 and parts[2].isdigit() else None

    def _answer(
        self, path: str, method: str, status: int, body: Any, schema: dict[str, Any] | None = None
    ) -> JSONResponse:
        schema = schema or self.schema.response_schema(path, method, status)
        if schema is not None:
            for where, _, message, _ in self.schema.errors(schema, body):
                self.violations.append(f"response {method.upper()} {path} {where}: {message}")
        return JSONResponse(body, status)

    def _check_request(self, path: str, item: Any, partial: bool) -> dict[str, list[str]]:
        ref = self.schema.request_schema(path, "post")
        assert ref is not None
        schema = self.schema.component(ref["$ref"].rsplit("/", 1)[1])
        if partial:
            schema.pop("required", None)
        errors: dict[str, list[str]] = {}
        for where, keyword, message, value in self.schema.errors(schema, item):
            name = (
                str(where[0]) if where else message.split("'")[1] if "'" in message else "__all__"
            )
            errors.setdefault(name, []).append(drf_message(keyword, message, value))
            self.violations.append(f"request {path} {name}: {message}")
        return errors

    # --- reads ----------------------------------------------------------------------------

    def _list(self, request: Request, collection: str) -> Response:
        path = f"/api/{collection}/"
        declared = self.schema.param_names(path, "get")
        query = request.query_params
        for name in query:
            if name not in declared:
                self.violations.append(f"GET {path}: {name!r} is not a filter NetBox has")
                return JSONResponse({name: ["Unknown filter."]}, 400)
        try:
            limit = min(int(query.get("limit", DEFAULT_PAGE)) or MAX_PAGE, MAX_PAGE)
            offset = int(query.get("offset", 0))
        except ValueError:
            return JSONResponse({"detail": "limit and offset must be integers."}, 400)
        matches = [
            o
            for o in self.store.objects[collection].values()
            if self._matches(collection, o, query)
        ]
        if collection in self.reverse:
            matches.reverse()
        page = matches[offset : offset + limit]
        rest = [(k, v) for k, v in query.multi_items() if k not in ("limit", "offset")]
        base = str(request.base_url).rstrip("/") + path

        def link(start: int) -> str:
            return base + "?" + urlencode([*rest, ("limit", limit), ("offset", start)])

        body = {
            "count": len(matches),
            "next": link(offset + limit) if offset + limit < len(matches) else None,
            "previous": link(max(0, offset - limit)) if offset > 0 else None,
            "results": [self.store.render(collection, o) for o in page],
        }
        return self._answer(path, "get", 200, body)

    def _matches(self, collection: str, obj: dict[str, Any], query: Any) -> bool:
        for name in set(query.keys()) - _PAGING:
            values = query.getlist(name)
            if not any(self._match_one(collection, obj, name, v) for v in values):
                return False
        return True

    def _match_one(self, collection: str, obj: dict[str, Any], name: str, value: str) -> bool:
        objects = self.store.objects
        if name == "q":
            text = " ".join(str(obj.get(k) or "") for k in ("name", "serial", "address", "model"))
            return value.lower() in text.lower()
        if name == "tag":
            return value in obj.get("tags", [])
        if name == "has_primary_ip":
            has = obj.get("primary_ip4") is not None or obj.get("primary_ip6") is not None
            return has == (value.lower() in ("true", "1"))
        if name == "device_id" and collection in ("ipam/ip-addresses", "dcim/mac-addresses"):
            iface = objects["dcim/interfaces"].get(obj.get("assigned_object_id") or -1)
            return iface is not None and str(iface["device"]) == value
        if name == "device_id" and collection == "dcim/cables":
            ends = obj.get("a_terminations", []) + obj.get("b_terminations", [])
            devices = {
                objects["dcim/interfaces"][t["object_id"]]["device"]
                for t in ends
                if t["object_id"] in objects["dcim/interfaces"]
            }
            return value in {str(d) for d in devices}
        if name == "vlan_id" and collection == "dcim/interfaces":
            # NetBox's filter_vlan_id: untagged, tagged or Q-in-Q service VLAN; blank = no filter
            vlan = value.strip()
            used = [obj.get("untagged_vlan"), obj.get("qinq_svlan"), *obj.get("tagged_vlans", [])]
            return not vlan or vlan in {str(v) for v in used if v is not None}
        if name == "interface_id":
            return str(obj.get("assigned_object_id")) == value
        if name.endswith("_id"):
            return str(obj.get(name.removesuffix("_id"))) == value or str(obj.get(name)) == value
        if name == "address":
            return str(obj.get("address", "")).split("/")[0] == value.split("/")[0]
        target = self.store.fks[collection].get(name)
        if target:
            related = objects[target].get(obj.get(name) or -1)
            return related is not None and value in (related.get("slug"), related.get("name"))
        return str(obj.get(name)) == value

    # --- writes ---------------------------------------------------------------------------

    def _normalise(self, collection: str, item: dict[str, Any]) -> dict[str, Any]:
        out = dict(item)
        if "tags" in out:
            out["tags"] = [t["slug"] for t in out["tags"]]
        if collection == "extras/tags":
            out.setdefault("color", "9e9e9e")
        if collection == "dcim/mac-addresses" and "mac_address" in out:
            out["mac_address"] = out["mac_address"].upper()
        if collection == "ipam/ip-addresses" and "address" in out:
            out["address"] = str(ipaddress.ip_interface(out["address"]))
        out.setdefault("status", "active") if collection in (
            "dcim/devices",
            "dcim/sites",
            "ipam/ip-addresses",
            "dcim/cables",
            "ipam/vlans",
        ) else None
        return out

    def _unique(
        self, collection: str, obj: dict[str, Any], pending: list[dict[str, Any]]
    ) -> dict[str, list[str]]:
        errors: dict[str, list[str]] = {}
        others = [
            o
            for o in [*self.store.objects[collection].values(), *pending]
            if o.get("id") != obj.get("id")
        ]
        for fields, key, message in UNIQUE.get(collection, []):
            if obj.get(fields[-1]) in (None, ""):
                continue
            if any(all(o.get(f) == obj.get(f) for f in fields) for o in others):
                errors.setdefault(key, []).append(message)
        return errors

    def _create(self, collection: str, body: Any) -> Response:
        path = f"/api/{collection}/"
        many = isinstance(body, list)
        items = body if many else [body]
        errors, ready = [], []
        for item in items:
            err = self._check_request(path, item, partial=False)
            if not err:
                err = related_errors(self.store, collection, item)
            norm = self._normalise(collection, item) if not err else {}
            if not err:
                err = self._unique(collection, norm, ready)
            if not err and collection == "dcim/interfaces":
                err = interface_errors(self.store, norm)
            errors.append(err)
            ready.append(norm)
        if any(errors):
            return JSONResponse(errors if many else errors[0], 400)
        created = [self.store.put(collection, n) for n in ready]
        out = [self.store.render(collection, o) for o in created]
        item_schema = self.schema.ref(self.store.object_schema[collection])
        if many:
            return self._answer(path, "post", 201, out, {"type": "array", "items": item_schema})
        return self._answer(path, "post", 201, out[0])

    def _update(self, collection: str, body: Any) -> Response:
        path = f"/api/{collection}/"
        if not isinstance(body, list):
            return JSONResponse({"non_field_errors": ["Expected a list of items."]}, 400)
        errors, ready = [], []
        current = self.store.objects[collection]
        for item in body:
            if not isinstance(item.get("id"), int) or item["id"] not in current:
                errors.append({"id": ["This field is required."]})
                ready.append({})
                continue
            changes = {k: v for k, v in item.items() if k != "id"}
            err = self._check_request(path, changes, partial=True) or related_errors(
                self.store, collection, changes
            )
            merged = {**copy.deepcopy(current[item["id"]]), **self._normalise(collection, changes)}
            if not err:
                err = self._unique(collection, merged, []) or assignment_errors(
                    self.store, collection, merged, current[item["id"]]
                )
            if not err and collection == "dcim/interfaces":
                err = interface_errors(self.store, merged)
            errors.append(err)
            ready.append(merged)
        if any(errors):
            return JSONResponse(errors, 400)
        for merged in ready:
            current[merged["id"]] = merged
        out = [self.store.render(collection, o) for o in ready]
        return self._answer(path, "patch", 200, out)

    def _delete(self, collection: str, body: Any) -> Response:
        if not isinstance(body, list) or not all(
            isinstance(i, dict) and set(i) == {"id"} for i in body
        ):
            self.violations.append(f"DELETE /api/{collection}/: body is not a list of ids")
            return JSONResponse({"non_field_errors": ["Expected a list of {id} items."]}, 400)
        objects = self.store.objects
        before = copy.deepcopy(objects)
        # NetBox deletes them one by one in its own order (an interface's: device, name)
        ordered = sorted(
            (item["id"] for item in body if item["id"] in objects[collection]),
            key=lambda oid: (
                objects[collection][oid].get("device") or 0,
                str(objects[collection][oid].get("name") or ""),
                oid,
            ),
        )
        for oid in ordered:
            if oid not in objects[collection]:
                continue
            children = (
                [i for i in objects["dcim/interfaces"].values() if i.get("parent") == oid]
                if collection == "dcim/interfaces"
                else []
            )
            if children:  # Interface.parent is on_delete=RESTRICT: the request is undone
                objects.clear()
                objects.update(before)
                listed = ", ".join(f"{c['name']} ({c['id']})" for c in children)
                return JSONResponse(
                    {
                        "detail": f"Unable to delete object. {len(children)} dependent "
                        f"objects were found: {listed}"
                    },
                    409,
                )
            self._remove(collection, oid)
        return Response(status_code=204)

    def _remove(self, collection: str, oid: int) -> None:
        """Delete as NetBox 4.2 does: a device takes its interfaces; an interface its IP and
        MAC addresses (GenericRelation: deleted, not unassigned) and its cables; what pointed
        at a deleted object (a device's primary IP, an interface's primary MAC, LAG or
        bridge, a VLAN on an interface) is set to null."""
        objects = self.store.objects
        objects[collection].pop(oid, None)
        if collection == "ipam/ip-addresses":
            for device in objects["dcim/devices"].values():
                for key in ("primary_ip4", "primary_ip6", "oob_ip"):
                    if device.get(key) == oid:
                        device[key] = None
        if collection == "dcim/mac-addresses":
            for iface in objects["dcim/interfaces"].values():
                if iface.get("primary_mac_address") == oid:
                    iface["primary_mac_address"] = None
        if collection == "dcim/devices":
            for iface in [i for i in objects["dcim/interfaces"].values() if i["device"] == oid]:
                self._remove("dcim/interfaces", iface["id"])
        if collection == "ipam/vlans":  # NetBox sets the interfaces' references to null
            for iface in objects["dcim/interfaces"].values():
                for key in ("untagged_vlan", "qinq_svlan"):
                    if iface.get(key) == oid:
                        iface[key] = None
                if oid in iface.get("tagged_vlans", []):
                    iface["tagged_vlans"] = [v for v in iface["tagged_vlans"] if v != oid]
        if collection == "dcim/interfaces":
            for kind in ("ipam/ip-addresses", "dcim/mac-addresses"):
                for obj in list(objects[kind].values()):
                    if (obj.get("assigned_object_type"), obj.get("assigned_object_id")) == (
                        "dcim.interface",
                        oid,
                    ):
                        self._remove(kind, obj["id"])
            for iface in objects["dcim/interfaces"].values():
                for key in ("lag", "bridge"):
                    if iface.get(key) == oid:
                        iface[key] = None
            for cable in list(objects["dcim/cables"].values()):
                ends = cable.get("a_terminations", []) + cable.get("b_terminations", [])
                if any(t["object_id"] == oid for t in ends):
                    objects["dcim/cables"].pop(cable["id"])
