"""Constrained field types shared by the specs: what a Kubernetes name, a quantity or a pinned image is."""

import ipaddress
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints

DnsLabel = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")]
"""A Kubernetes name such as a namespace: lowercase letters, digits and '-', at most 63 characters."""

Quantity = Annotated[str, StringConstraints(pattern=r"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?$")]
"""A Kubernetes resource quantity such as `500m`, `2Gi` or `1`."""


def _hundredths(value: float) -> float:
    if Decimal(repr(value)) % Decimal("0.01"):
        raise ValueError("a multiple of 0.01 (Istio samples in steps of 0.01 %)")
    return value


Percentage = Annotated[float, Field(ge=0, le=100), AfterValidator(_hundredths)]
"""A sampling percentage, 0-100 in steps of 0.01, as Istio's `randomSamplingPercentage` takes it."""

ChartRepository = Annotated[str, StringConstraints(pattern=r"^(https?|oci)://\S+$")]
"""An HTTP(S) Helm repository or an `oci://` registry path."""

ReleaseVersion = Annotated[str, StringConstraints(pattern=r"^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$")]

Revision = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]([-a-z0-9]{0,30}[a-z0-9])?$")]
"""An istiod revision: it becomes part of resource names, so it is a short DNS label."""

Duration = Annotated[str, StringConstraints(pattern=r"^([0-9]+(ms|s|m|h))+$")]
"""A Go duration such as `72h` or `1h30m`."""

Hostname = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", max_length=253)]

Port = Annotated[int, Field(ge=1, le=65535)]

NodePort = Annotated[int, Field(ge=30000, le=32767)]

HttpUrl = Annotated[str, StringConstraints(pattern=r"^https?://[^\s/]+(:[0-9]+)?(/\S*)?$")]

Cron = Annotated[str, StringConstraints(pattern=r"^(\S+\s+){4}\S+$")]
"""A five-field cron schedule, e.g. `55 23 * * *`."""

Email = Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]

GatewayHost = Annotated[str, StringConstraints(pattern=r"^(\*|(\*\.)?[a-z0-9]([-a-z0-9.]*[a-z0-9])?)$")]
"""A host the gateway serves: a DNS name, `*.domain`, or `*` (any host)."""


def _pinned(image: str) -> str:
    tag = image.rsplit("/", 1)[-1]
    if "@sha256:" in image or (":" in tag and not tag.endswith(":latest")):
        return image
    raise ValueError("an image pinned to a version tag or digest (not `latest`, not untagged)")


PinnedImage = Annotated[str, StringConstraints(pattern=r"^\S+$"), AfterValidator(_pinned)]


def _cidr(value: str) -> str:
    ipaddress.ip_network(value, strict=True)  # raises ValueError with the reason
    return value


Cidr = Annotated[str, AfterValidator(_cidr)]
"""An IPv4 or IPv6 network such as `10.0.0.0/8`."""
