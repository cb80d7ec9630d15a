"""Open311 GeoReport v2 shapes (http://wiki.open311.org/GeoReport_v2/), JSON format."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Open311Error(BaseModel):
    code: int
    description: str


class Service(BaseModel):
    service_code: str
    service_name: str
    description: str
    metadata: bool
    type: str  # realtime | batch | blackbox
    keywords: str
    group: str


class AttributeValue(BaseModel):
    key: str
    name: str


class ServiceAttribute(BaseModel):
    variable: bool
    code: str
    datatype: str  # string, number, datetime, text, singlevaluelist, multivaluelist
    required: bool
    datatype_description: str
    order: int
    description: str
    values: list[AttributeValue] = Field(default_factory=list)


class ServiceDefinition(BaseModel):
    service_code: str
    attributes: list[ServiceAttribute]


class RequestCreated(BaseModel):
    service_request_id: str
    service_notice: str
    account_id: str | None = None


class ServiceRequest(BaseModel):
    service_request_id: str
    status: str  # open | closed
    status_notes: str
    service_name: str
    service_code: str
    description: str
    agency_responsible: str
    service_notice: str
    requested_datetime: str
    updated_datetime: str
    expected_datetime: str
    address: str
    address_id: str
    zipcode: str
    lat: float | None
    long: float | None
    media_url: str
