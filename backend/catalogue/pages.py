"""The county's catalogue page (/county/products): its products with category, brand,
certification and unit, a form to add one and the same form to edit one (its code stays)."""

from __future__ import annotations

import uuid

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.response import Redirect, Template

from backend.accounts.guards import LoggedIn, requires_staff
from backend.accounts.schemas import CurrentUser
from backend.catalogue import service
from backend.catalogue.routes import ProductId
from backend.catalogue.schemas import ProductCreate, ProductEdit
from backend.errors import DomainError
from backend.i18n import translate
from backend.registry.staff import page_county, staff_county
from backend.trace.service import CERTIFICATION_CODES
from backend.web.forms import FormField, FormState, error_state, form_values, to_struct
from backend.web.layout import PAGE_ERRORS, page_language, render

EDIT_FIELDS = [
    FormField("name", required=True, label="catalogue.field.name"),
    FormField("category", "select", "categories", required=True),
    FormField("brand"),
    FormField("certification", "select", "certifications"),
    FormField("unit", label="catalogue.field.unit"),
]
CREATE_FIELDS = [FormField("code", required=True, label="catalogue.field.code"), *EDIT_FIELDS]


def _lists(language: str) -> dict[str, list[dict[str, str]]]:
    return {
        "categories": [
            {"value": code, "text": translate(f"catalogue.category.{code}", language)}
            for code in service.CATEGORIES
        ],
        "certifications": [
            {"value": code, "text": translate(f"trace.certification.{code}", language)}
            for code in CERTIFICATION_CODES
        ],
    }


async def products_page(
    request: Request,
    user: CurrentUser,
    state: FormState | None = None,
    editing: uuid.UUID | None = None,
) -> Template:
    county_id = await staff_county(user)
    products = await service.list_products(county_id)
    edited = next((p for p in products if p.id == editing), None)
    if edited is not None and state is None:
        state = FormState(values={f.name: getattr(edited, f.name) for f in EDIT_FIELDS})
    return render(
        request,
        "catalogue/products.html",
        nav="products",
        facts=await page_county(county_id),
        products=products,
        edited=edited,
        fields=EDIT_FIELDS if edited else CREATE_FIELDS,
        lists=_lists(page_language(request)),
        form=state or FormState(),
        saved=request.query_params.get("saved"),
    )


class CataloguePagesController(Controller):
    """The catalogue: list, add, edit."""

    path = "/county/products"
    include_in_schema = False
    guards = [requires_staff]
    exception_handlers = PAGE_ERRORS

    @get("/")
    async def products(self, request: Request, user: LoggedIn) -> Template:
        edit = request.query_params.get("edit")
        try:
            editing = uuid.UUID(edit) if edit else None
        except ValueError:
            editing = None
        return await products_page(request, user, editing=editing)

    @post("/", status_code=200)
    async def create(self, request: Request, user: LoggedIn) -> Response:
        county_id = await staff_county(user)
        values = form_values(await request.form(), CREATE_FIELDS)
        try:
            product = await service.add_product(county_id, user, to_struct(values, ProductCreate))
        except (DomainError, msgspec.ValidationError) as exc:
            state = error_state(exc, values, page_language(request))
            return await products_page(request, user, state)
        return Redirect(f"/county/products?saved={product.code}", status_code=303)

    @post("/{product_id:uuid}", status_code=200)
    async def edit(self, request: Request, user: LoggedIn, product_id: ProductId) -> Response:
        county_id = await staff_county(user)
        await service.get_product(county_id, product_id)  # another county's: not found
        values = form_values(await request.form(), EDIT_FIELDS)
        try:
            product = await service.edit_product(
                county_id, product_id, user, to_struct(values, ProductEdit)
            )
        except (DomainError, msgspec.ValidationError) as exc:
            state = error_state(exc, values, page_language(request))
            return await products_page(request, user, state, product_id)
        return Redirect(f"/county/products?saved={product.code}", status_code=303)


ROUTE_HANDLERS = [CataloguePagesController]
