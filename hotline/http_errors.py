"""Every 4xx of the API in one shape, and that shape in the OpenAPI document.

The handlers turn our own errors (``hotline.errors``), FastAPI's request validation, Starlette's
HTTP errors (unknown route 404, 405, 413, a body that cannot be parsed) and a unique key
violated at commit into ``{"code", "detail", "errors": [{"loc", "msg", "type"}]}``.
:func:`document_errors` adds the ``ErrorOut`` schema and, to each operation, the error
responses it can give (derived from its parameters, its dependencies and its method).
"""

from __future__ import annotations

import logging
import re
from typing import Any

import fastapi.routing
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from hotline.errors import HotlineError, error_body

log = logging.getLogger("hotline.errors")

_CJK = re.compile(r"[\u4e00-\u9fff]")

# Starlette's and FastAPI's own errors: their machine code and what to tell the user.
HTTP_ERRORS: dict[int, tuple[str, str]] = {
    400: ("bad_request", "请求格式有误，无法解析"),
    401: ("not_authenticated", "未登录或登录已过期"),
    403: ("forbidden", "无权执行此操作"),
    404: ("not_found", "接口或资源不存在"),
    405: ("method_not_allowed", "该接口不支持此请求方法"),
    406: ("not_acceptable", "无法提供所请求的内容格式"),
    409: ("conflict", "操作与当前状态冲突，请刷新后重试"),
    413: ("payload_too_large", "请求内容过大"),
    415: ("unsupported_media_type", "不支持的内容类型"),
    422: ("invalid_input", "提交的内容有误"),
    429: ("rate_limited", "请求过于频繁，请稍后再试"),
}


class ErrorItem(BaseModel):
    """One field at fault: where it is (``["body", "phone"]``), what is wrong, a machine type."""

    loc: list[str | int]
    msg: str
    type: str


class ErrorOut(BaseModel):
    """The body of every 4xx answer of the API."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(description="machine code: not_found, invalid_input, stale_version, role_not_allowed, ...")
    detail: str = Field(description="one sentence in Chinese, ready to show")
    errors: list[ErrorItem] = Field(description="the fields at fault; empty when no field is")
    retry_after: int | None = Field(None, description="429: seconds to wait before trying again")
    current_version: int | None = Field(None, description="409 stale_version: the ticket's version now")
    status: str | None = Field(None, description="409 invalid_state: the ticket's status now")
    allowed: list[str] | None = Field(None, description="415, 422: the values the field accepts")
    max_bytes: int | None = Field(None, description="413: the largest size accepted, in bytes")
    detected_type: str | None = Field(None, description="415: the type read from the file's bytes")


# ---------------------------------------------------------------- validation messages in Chinese


def _validation_text(err: dict[str, Any]) -> str:
    kind = err.get("type", "")
    ctx = err.get("ctx") or {}
    msg = str(err.get("msg", ""))
    if kind == "missing":
        return "必填"
    if kind == "extra_forbidden":
        return "不允许的字段"
    if kind == "string_too_short":
        return "不能为空" if ctx.get("min_length", 1) <= 1 else f"至少 {ctx['min_length']} 个字符"
    if kind == "string_too_long":
        return f"过长（最多 {ctx.get('max_length')} 个字符）"
    if kind == "too_long":
        return f"过多（最多 {ctx.get('max_length')} 项）"
    if kind == "too_short":
        return f"过少（至少 {ctx.get('min_length')} 项）"
    if kind == "string_pattern_mismatch":
        return "格式不正确"
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        bound = ctx.get("ge", ctx.get("gt", ctx.get("le", ctx.get("lt"))))
        words = {"greater_than_equal": "不能小于", "greater_than": "须大于", "less_than_equal": "不能大于"}
        return f"{words.get(kind, '须小于')} {bound}"
    if kind in ("enum", "literal_error"):
        return f"取值无效，可选：{ctx.get('expected', '')}"
    if kind.startswith("int_"):
        return "须为整数"
    if kind.startswith("float_") or kind.startswith("decimal_"):
        return "须为数字"
    if kind.startswith("bool_"):
        return "须为 true 或 false"
    if kind.startswith(("datetime_", "timezone_")):
        return "须为带时区的时间（如 2026-11-22T08:00:00+08:00）"
    if kind.startswith("date_"):
        return "须为日期（如 2026-11-22）"
    if kind == "json_invalid":
        return "JSON 格式错误"
    if kind in ("list_type", "tuple_type", "set_type"):
        return "须为列表"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return "须为对象（映射）"
    if kind.startswith("string_") or kind == "str_type":
        return "须为文字"
    if kind in ("value_error", "assertion_error"):
        return msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    return msg


def validation_errors(raw: list[Any]) -> list[dict[str, Any]]:
    return [{"loc": list(err.get("loc", ())), "msg": _validation_text(err), "type": err.get("type", "")} for err in raw]


def validation_detail(errors: list[dict[str, Any]]) -> str:
    def where(item: dict[str, Any]) -> str:
        loc = [str(p) for p in item["loc"][1:]] or [str(p) for p in item["loc"]]
        return ".".join(loc) or "请求"

    first = errors[0] if errors else None
    if first is None:
        return "提交的内容有误"
    more = f"（另有 {len(errors) - 1} 处）" if len(errors) > 1 else ""
    return f"提交的内容有误：{where(first)}：{first['msg']}{more}"


# ---------------------------------------------------------------- handlers


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(status_code=status, content=body, headers=headers or None)


def install(app: FastAPI) -> None:
    """The exception handlers of the one error shape, and its OpenAPI documentation."""

    @app.exception_handler(HotlineError)
    async def _hotline_error(_request: Request, exc: HotlineError) -> JSONResponse:
        return _json(exc.status_code, exc.body(), exc.headers())

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = validation_errors(list(exc.errors()))
        return _json(422, error_body("invalid_input", validation_detail(errors), errors))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code, text = HTTP_ERRORS.get(exc.status_code, ("error", "请求失败"))
        detail = exc.detail if isinstance(exc.detail, str) and _CJK.search(exc.detail) else text
        errors = getattr(exc, "errors", None)  # the fields at fault, when the raiser knows them
        return _json(exc.status_code, error_body(code, detail, errors), dict(exc.headers or {}))

    @app.exception_handler(IntegrityError)
    async def _integrity_error(_request: Request, _exc: IntegrityError) -> JSONResponse:
        # A unique or foreign key the checks before did not catch (e.g. two requests at once).
        return _json(409, error_body("conflict", "数据与已有记录冲突（如用户名或编码重复），请刷新后重试"))

    @app.exception_handler(OperationalError)
    async def _database_unavailable(_request: Request, exc: OperationalError) -> JSONResponse:
        # The database is restarting or unreachable (the pool pings and reconnects by itself):
        # a clear "try again" rather than a 500; the statement's values are never logged.
        log.warning("database unavailable: %s", type(exc.orig).__name__ if exc.orig else type(exc).__name__)
        body = error_body("unavailable", "数据库暂时不可用，请稍后重试")
        return _json(503, body, {"Retry-After": "2"})

    @app.exception_handler(DataError)
    @app.exception_handler(OverflowError)
    async def _data_error(_request: Request, _exc: Exception) -> JSONResponse:
        # A value the database cannot hold (an integer past its column's range, a NUL byte in
        # text) that no check before caught: the client's mistake, and nothing was stored.
        # PostgreSQL refuses it (DataError); SQLite's driver cannot even bind an integer past
        # 64 bits (OverflowError).
        return _json(422, error_body("invalid_input", "提交的数值超出范围或含有不允许的字符"))

    app.openapi = lambda: document_errors(app)  # type: ignore[method-assign]


# ---------------------------------------------------------------- OpenAPI


ERROR_DESCRIPTIONS = {
    401: "未登录或登录已过期 (not_authenticated)",
    403: "角色或单位无权执行 (role_not_allowed, not_assigned, ...)，或须先修改密码 (password_change_required)",
    404: "不存在，或本单位无权查看",
    409: "与工单当前状态或版本冲突 (invalid_state, stale_version, ...)",
    413: "请求内容过大 (payload_too_large)",
    415: "内容类型不受支持 (unsupported_media_type)",
    422: "输入有误，逐项见 errors (invalid_input)",
    429: "请求过于频繁 (rate_limited)，retry_after 秒后再试",
}
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for the errors a route gives beyond what its definition shows (e.g. the
    403 of a role checked inside the lifecycle, the login's 401 and 429)."""
    return {status: {"description": ERROR_DESCRIPTIONS[status]} for status in statuses}


def operations(app: FastAPI) -> list[Any]:
    """The app's API routes, each with its full path (FastAPI 0.165 includes routers lazily)."""
    iterate = getattr(fastapi.routing, "iter_route_contexts", None)
    routes = list(iterate(app.routes)) if iterate else list(app.routes)
    return [r for r in routes if isinstance(getattr(r, "original_route", r), APIRoute)]


def _dependants(route: Any) -> list[Any]:
    """The route's dependant and every sub-dependency's, depth first."""
    found: list[Any] = []
    stack = [route.dependant]
    while stack:
        dependant = stack.pop()
        found.append(dependant)
        stack.extend(dependant.dependencies)
    return found


def error_statuses(route: Any) -> set[int]:
    """The 4xx an operation can give, read off its definition.

    401 when it needs a login; 403 when a role dependency guards it, when its login refuses a user
    who must first change a password an admin reset (hotline.auth), or when it declares 403 (the
    lifecycle refuses roles inside); 404 for a path naming a resource; 409 for every write (a
    state or version conflict, or a key taken meanwhile); 413 and 422 where input is read;
    429 where declared (the login)."""
    from hotline.auth import get_current_user, get_own_account_user, get_stream_user  # defined there

    dependants = _dependants(route)
    calls = [d.call for d in dependants]

    def has(kind: str) -> bool:
        return any(getattr(d, kind) for d in dependants)

    statuses: set[int] = set()
    signed_in = get_current_user in calls or get_stream_user in calls
    if signed_in or get_own_account_user in calls:
        statuses.add(401)
    if signed_in or any(getattr(call, "roles_required", None) for call in calls):
        statuses.add(403)
    if has("path_params"):
        statuses.add(404)
    methods = route.methods or set()
    if methods & WRITE_METHODS and 401 in statuses:
        statuses.add(409)
    if has("body_params") or methods & WRITE_METHODS:
        statuses.add(413)
    if has("path_params") or has("query_params") or has("header_params") or has("body_params"):
        statuses.add(422)
    statuses.update(int(s) for s in route.responses if str(s).isdigit() and 400 <= int(s) < 500)
    return statuses


def document_errors(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
        tags=app.openapi_tags,
        servers=app.servers,
    )
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    components["ErrorItem"] = ErrorItem.model_json_schema()
    error_schema = ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}")
    error_schema.pop("$defs", None)
    components["ErrorOut"] = error_schema
    ref = {"$ref": "#/components/schemas/ErrorOut"}
    for route in operations(app):
        if not route.include_in_schema:
            continue
        path = schema["paths"].get(route.path_format)
        if path is None:
            continue
        for method in route.methods or ():
            operation = path.get(method.lower())
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)
            for status in sorted(error_statuses(route)):
                declared = route.responses.get(status, {}) or route.responses.get(str(status), {})
                responses[str(status)] = {
                    "description": declared.get("description") or ERROR_DESCRIPTIONS.get(status, "错误"),
                    "content": {"application/json": {"schema": ref}},
                }
    app.openapi_schema = schema
    return schema
