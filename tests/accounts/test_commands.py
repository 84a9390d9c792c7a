"""`piccolo project superuser` and `piccolo user create`, as a release step would run them."""

from piccolo.apps.user.tables import BaseUser

from bandstand.accounts.email_addresses import is_verified
from bandstand.accounts.users import find_user_id, verify_login
from tests.support.cli import piccolo


async def test_superuser_is_created_then_updated(clean_tables: None) -> None:
    first = await piccolo(
        "project",
        "superuser",
        SUPERUSER_USERNAME="admin",
        SUPERUSER_EMAIL="admin@example.com",
        SUPERUSER_PASSWORD="first-secret",
    )
    assert first.returncode == 0, first.stderr
    assert b"superuser 'admin' created" in first.stdout
    admin_id = await find_user_id("admin")
    assert admin_id is not None
    # The operator chose the address: confirmed, with no link to open.
    assert await is_verified(admin_id, "admin@example.com")

    again = await piccolo(
        "project",
        "superuser",
        SUPERUSER_USERNAME="admin",
        SUPERUSER_EMAIL="ops@example.com",
        SUPERUSER_PASSWORD="second-secret",
    )
    assert again.returncode == 0, again.stderr
    assert b"superuser 'admin' updated" in again.stdout

    row = (
        await BaseUser.select(BaseUser.email, BaseUser.active, BaseUser.admin, BaseUser.superuser)
        .where(BaseUser.username == "admin")
        .first()
    )
    assert row == {"email": "ops@example.com", "active": True, "admin": True, "superuser": True}
    assert await BaseUser.count() == 1
    assert await is_verified(admin_id, "ops@example.com")
    assert await verify_login("admin", "first-secret") is None
    assert await verify_login("admin", "second-secret") is not None


async def test_superuser_without_the_variables_fails_clearly(clean_tables: None) -> None:
    result = await piccolo("project", "superuser", SUPERUSER_USERNAME="", SUPERUSER_PASSWORD="")
    assert result.returncode == 1
    assert b"set SUPERUSER_USERNAME and SUPERUSER_PASSWORD" in result.stderr
    assert await BaseUser.count() == 0


async def test_piccolo_user_create_works_as_shipped(clean_tables: None) -> None:
    result = await piccolo(
        "user",
        "create",
        "--username=shipped",
        "--email=shipped@example.com",
        "--password=shipped-secret",
        "--is_admin=t",
        "--is_superuser=f",
        "--is_active=t",
    )
    assert result.returncode == 0, result.stderr
    assert await verify_login("shipped", "shipped-secret") is not None
