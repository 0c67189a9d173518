"""The county's 代销 by product (/county/products/sales): sales per catalogue product and per
trace batch, and the product texts the keepers wrote, each with a form mapping it to a product."""

from __future__ import annotations

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.response import Redirect, Template

from backend.accounts.guards import LoggedIn, requires_staff
from backend.accounts.schemas import CurrentUser
from backend.catalogue import service as catalogue
from backend.catalogue.schemas import TextMapping
from backend.county import product_sales
from backend.errors import DomainError
from backend.registry.staff import page_county, staff_county
from backend.web.forms import FormField, error_state, form_values, to_struct
from backend.web.layout import PAGE_ERRORS, page_language, render

MAPPING_FIELDS = [FormField("text", required=True), FormField("product_id")]


async def sales_page(request: Request, user: CurrentUser, message: str = "") -> Template:
    county_id = await staff_county(user)
    return render(
        request,
        "county/product_sales.html",
        nav="products",
        facts=await page_county(county_id),
        sales=await product_sales.county_sales(county_id),
        products=await catalogue.list_products(county_id),
        message=message,
        mapped=request.query_params.get("mapped"),
    )


class ProductSalesPagesController(Controller):
    """代销 per product and batch; the texts mapped to products."""

    path = "/county/products/sales"
    include_in_schema = False
    guards = [requires_staff]
    exception_handlers = PAGE_ERRORS

    @get("/")
    async def sales(self, request: Request, user: LoggedIn) -> Template:
        return await sales_page(request, user)

    @post("/", status_code=200)
    async def map_text(self, request: Request, user: LoggedIn) -> Response:
        county_id = await staff_county(user)
        values = form_values(await request.form(), MAPPING_FIELDS)
        try:
            await product_sales.map_text(county_id, user, to_struct(values, TextMapping))
        except (DomainError, msgspec.ValidationError) as exc:
            state = error_state(exc, values, page_language(request))
            message = state.message or next(iter(state.errors.values()), "")
            return await sales_page(request, user, message)
        return Redirect("/county/products/sales?mapped=1#texts", status_code=303)


ROUTE_HANDLERS = [ProductSalesPagesController]
