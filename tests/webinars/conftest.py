import datetime
import io

import pytest
from PIL import Image

from project.webinars.tables import Registrant


def image_bytes(
    format: str = "PNG", size: tuple[int, int] = (64, 48), color: str = "teal"
) -> bytes:
    output = io.BytesIO()
    Image.new("RGB", size, color).save(output, format=format)
    return output.getvalue()


def in_days(days: int) -> str:
    return (datetime.datetime.now(datetime.UTC).date() + datetime.timedelta(days=days)).isoformat()


@pytest.fixture
async def registrant(clean_tables: None) -> int:
    rows = await Registrant.insert(
        Registrant(
            name="Ada Lovelace",
            email="ada@example.com",
            company="Analytical Engines",
            webinar_date=datetime.date.fromisoformat(in_days(7)),
        )
    )
    return int(rows[0]["id"])
