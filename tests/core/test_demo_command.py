"""`piccolo project demo`: load fills an empty database once, clear empties it, bad actions fail."""

from project.catalog.demo import PRODUCTS
from project.catalog.tables import Product
from tests.support.cli import piccolo


async def demo(action: str) -> tuple[int, str]:
    result = await piccolo("project", "demo", f"--action={action}")
    return result.returncode, (result.stdout + result.stderr).decode()


async def test_load_twice_then_clear(clean_tables: None) -> None:
    assert (await demo("load"))[0] == 0
    assert (await demo("load"))[0] == 0
    assert await Product.count() == len(PRODUCTS)
    assert (await demo("clear"))[0] == 0
    assert await Product.count() == 0


async def test_an_unknown_action_fails_clearly(clean_tables: None) -> None:
    code, output = await demo("explode")
    assert code == 1
    assert "unknown action 'explode'; expected load, reset, clear" in output
