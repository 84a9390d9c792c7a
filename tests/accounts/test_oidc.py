"""Sign-in with a provider, against an OpenID provider and a GitHub-like server on loopback
(tests/support/oidc_provider.py): a sign-in; state, nonce, PKCE and ID-token checks under
attack; linking only by an address verified on both sides, or from /account; `next` kept on the
site; GitHub's API; settings that refuse what cannot work."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from bandstand.accounts.email_addresses import mark_verified
from bandstand.accounts.sessions import SESSION_COOKIE
from bandstand.accounts.tables import ProviderAccount
from bandstand.audit.tables import AuditEntry
from bandstand.settings import SettingsError, load_settings
from bandstand.testing.accounts import PASSWORD, People, csrf_token, log_in
from bandstand.testing.apps import build_site, client_for
from tests.accounts.test_two_factor import enrol, log_out
from tests.support.oidc_provider import CLIENT_ID, CLIENT_SECRET, OidcProvider, Person
from tests.support.oidc_provider import oidc_provider as oidc_provider

HTML = {"accept": "text/html"}


def provider_settings(provider: OidcProvider) -> dict[str, str]:
    return {
        "oidc_issuer": provider.url,
        "oidc_client_id": CLIENT_ID,
        "oidc_client_secret": CLIENT_SECRET,
        "oidc_label": "Loopback ID",
        "oidc_github_url": provider.url,
        "oidc_github_client_id": CLIENT_ID,
        "oidc_github_client_secret": CLIENT_SECRET,
    }


@pytest.fixture
async def site(people: People, oidc_provider: OidcProvider) -> AsyncIterator[httpx.AsyncClient]:
    app = await build_site([], "Sign-in", **provider_settings(oidc_provider))
    async with client_for(app) as client:
        yield client


@pytest.fixture
def alice(people: People, oidc_provider: OidcProvider) -> Person:
    """The provider's account whose verified address is the `plain` user's."""
    return oidc_provider.add(
        Person("alice-sub", "plain@example.com", github_id=4242, login="alice")
    )


async def start(
    client: httpx.AsyncClient, name: str = "oidc", next: str = "/account"
) -> httpx.Response:
    token = await csrf_token(client, "/login")
    started = await client.post(f"/login/oidc/{name}", data={"next": next, "_csrf_token": token})
    assert started.status_code == 303, started.text
    return started


async def approve(started: httpx.Response, subject: str) -> str:
    """The user approves at the provider: the site's callback, path and query."""
    location = started.headers["location"]
    async with httpx.AsyncClient() as browser:
        approved = await browser.get(f"{location}&{urlencode({'login_as': subject})}")
    assert approved.status_code == 302, approved.text
    callback = urlsplit(approved.headers["location"])
    return f"{callback.path}?{callback.query}"


async def sign_in(
    client: httpx.AsyncClient, subject: str, name: str = "oidc", next: str = "/account"
) -> httpx.Response:
    return await client.get(await approve(await start(client, name, next), subject))


def with_query(path: str, **changes: str) -> str:
    parts = urlsplit(path)
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    return f"{parts.path}?{urlencode({**query, **changes})}"


def error_of(page: httpx.Response) -> str:
    """The error a page shows, for an assertion's message."""
    found = re.search(r'<p class="error" role="alert">(.*?)</p>', page.text)
    return found.group(1) if found else page.text[:200]


async def who(client: httpx.AsyncClient) -> str | None:
    """The logged-in user's name, from the account page; None when nobody is."""
    page = await client.get("/account", headers=HTML)
    if page.status_code != 200:
        return None
    return page.text.split("<dt>Username</dt><dd>")[1].split("</dd>")[0]


async def confirm_address(user_id: int, address: str) -> None:
    await mark_verified(user_id, address)


async def links() -> list[tuple[int, str]]:
    rows = await ProviderAccount.select(ProviderAccount.user, ProviderAccount.key)
    return [(row["user"], row["key"]) for row in rows]


async def test_the_login_page_offers_the_providers_and_signs_in(
    site: httpx.AsyncClient, people: People, alice: Person, oidc_provider: OidcProvider
) -> None:
    page = await site.get("/login")
    assert 'action="/login/oidc/oidc"' in page.text
    assert "Log in with Loopback ID" in page.text, error_of(page)
    assert "Log in with GitHub" in page.text, error_of(page)
    # The button's form is answered with a redirect to the provider: the policy allows it.
    policy = page.headers["content-security-policy"]
    assert f"form-action 'self' {oidc_provider.url};" in policy
    await confirm_address(people.plain, "plain@example.com")

    started = await start(site)
    query = parse_qs(urlsplit(started.headers["location"]).query)
    assert query["code_challenge_method"] == ["S256"]
    assert query["nonce"][0]
    assert "sign_in_flow" not in started.text
    done = await site.get(await approve(started, alice.subject))

    assert done.status_code == 303, done.text
    assert done.headers["location"] == "/account"
    assert SESSION_COOKIE in done.cookies
    assert await who(site) == "plain"
    assert await links() == [(people.plain, "oidc:alice-sub")]
    entry = await AuditEntry.select().where(AuditEntry.action == "login").first()
    assert entry is not None
    assert (entry["actor_id"], entry["target_table"]) == (people.plain, "provider_account")

    # Linked by the provider's subject: a later sign-in works after the address changed.
    await log_out(site)
    alice.email = "alice@elsewhere.example"
    assert (await sign_in(site, alice.subject)).status_code == 303
    assert await who(site) == "plain"


async def test_a_tampered_state_is_refused_before_the_code_is_used(
    site: httpx.AsyncClient, people: People, alice: Person, oidc_provider: OidcProvider
) -> None:
    await confirm_address(people.plain, "plain@example.com")
    callback = await approve(await start(site), alice.subject)

    refused = await site.get(with_query(callback, state="forged"), headers=HTML)

    assert refused.status_code == 400
    assert "try again" in refused.text, error_of(refused)
    assert oidc_provider.token_requests == 0
    assert await who(site) is None
    failed = await AuditEntry.select(AuditEntry.target_id).where(
        AuditEntry.action == "login.failed"
    )
    assert failed == [{"target_id": "oidc"}]
    # The flow's cookie went with the answer: the right state now finds nothing to finish.
    assert (await site.get(callback)).status_code == 400


async def test_a_callback_from_another_browser_is_refused(
    site: httpx.AsyncClient, people: People, alice: Person
) -> None:
    """Login CSRF: an attacker's own code and state, sent to the victim's browser."""
    await confirm_address(people.plain, "plain@example.com")
    callback = await approve(await start(site), alice.subject)
    site.cookies.clear()

    refused = await site.get(callback, headers=HTML)

    assert refused.status_code == 400
    assert await who(site) is None


async def test_a_replayed_id_token_is_refused_by_its_nonce(
    site: httpx.AsyncClient, people: People, alice: Person, oidc_provider: OidcProvider
) -> None:
    await confirm_address(people.plain, "plain@example.com")
    assert (await sign_in(site, alice.subject)).status_code == 303
    await log_out(site)
    oidc_provider.replay_id_token = oidc_provider.issued_id_tokens[-1]

    refused = await sign_in(site, alice.subject)

    assert refused.status_code == 400
    assert "did not confirm the sign-in" in refused.text, error_of(refused)
    assert await who(site) is None


async def test_an_injected_code_fails_pkce(
    site: httpx.AsyncClient, people: People, alice: Person, oidc_provider: OidcProvider
) -> None:
    """A code stolen from the victim's sign-in, brought back within the attacker's own: the
    state is the attacker's, but the code was bound to the victim's PKCE challenge."""
    await confirm_address(people.plain, "plain@example.com")
    victims = await approve(await start(site), alice.subject)
    site.cookies.clear()
    oidc_provider.add(Person("mallory-sub", "mallory@example.net"))
    attackers = await approve(await start(site), "mallory-sub")
    stolen_code = parse_qs(urlsplit(victims).query)["code"][0]

    refused = await site.get(with_query(attackers, code=stolen_code))

    assert refused.status_code == 400
    assert oidc_provider.token_requests == 1
    assert await who(site) is None


@pytest.mark.parametrize(
    "claims",
    [
        {"aud": "another-client", "azp": CLIENT_ID},
        {"iss": "https://issuer.invalid"},
        {"exp": 1_000_000_000, "iat": 999_999_000},
        {"nonce": "not-the-one-sent"},
    ],
    ids=["audience", "issuer", "expired", "nonce"],
)
async def test_an_id_token_that_fails_its_checks_is_refused(
    site: httpx.AsyncClient,
    people: People,
    alice: Person,
    oidc_provider: OidcProvider,
    claims: dict[str, object],
) -> None:
    await confirm_address(people.plain, "plain@example.com")
    oidc_provider.claims_override = claims

    refused = await sign_in(site, alice.subject)

    assert refused.status_code == 400
    assert await who(site) is None
    assert await links() == []


async def test_an_id_token_signed_by_another_key_is_refused(
    site: httpx.AsyncClient, people: People, alice: Person, oidc_provider: OidcProvider
) -> None:
    await confirm_address(people.plain, "plain@example.com")
    assert (await sign_in(site, alice.subject)).status_code == 303
    await log_out(site)
    genuine = jwt.decode(oidc_provider.issued_id_tokens[-1], oidc_provider.key)
    forger = RSAKey.generate_key(2048, parameters={"kid": "test-key"})
    forged = jwt.encode({"alg": "RS256", "kid": "test-key"}, dict(genuine.claims), forger)
    oidc_provider.replay_id_token = forged

    assert (await sign_in(site, alice.subject)).status_code == 400
    assert await who(site) is None


async def test_an_address_the_provider_has_not_verified_links_nothing(
    site: httpx.AsyncClient, people: People, oidc_provider: OidcProvider
) -> None:
    await confirm_address(people.plain, "plain@example.com")
    oidc_provider.add(Person("eve-sub", "plain@example.com", email_verified=False))

    refused = await sign_in(site, "eve-sub")

    assert refused.status_code == 400
    assert "has not verified" in refused.text, error_of(refused)
    assert await links() == []
    assert await who(site) is None


async def test_an_address_not_confirmed_here_links_nothing(
    site: httpx.AsyncClient, people: People, alice: Person
) -> None:
    """Whoever registered the address here without receiving mail at it must not get the
    provider account of its owner."""
    refused = await sign_in(site, alice.subject)

    assert refused.status_code == 400
    assert "has not confirmed it" in refused.text, error_of(refused)
    assert await links() == []


@pytest.mark.parametrize(
    "next", ["https://evil.example/", "//evil.example/", "/\\evil.example", "/\t/evil.example"]
)
async def test_next_cannot_leave_the_site(
    site: httpx.AsyncClient, people: People, alice: Person, next: str
) -> None:
    await confirm_address(people.plain, "plain@example.com")

    done = await sign_in(site, alice.subject, next=next)

    assert done.status_code == 303
    assert done.headers["location"] == "/"


async def test_a_first_sign_in_makes_an_account_only_with_sign_up_on(
    people: People, oidc_provider: OidcProvider
) -> None:
    oidc_provider.add(Person("newcomer-sub", "New.Comer@example.com"))
    closed = await build_site([], "Closed", **provider_settings(oidc_provider))
    async with client_for(closed) as client:
        refused = await sign_in(client, "newcomer-sub")
        assert refused.status_code == 400
        assert "No account here uses new.comer@example.com" in refused.text, error_of(refused)

    changes = {**provider_settings(oidc_provider), "signup_enabled": True}
    open_site = await build_site([], "Open", **changes)
    async with client_for(open_site) as client:
        assert (await sign_in(client, "newcomer-sub")).status_code == 303
        assert await who(client) == "new.comer"
        page = await client.get("/account", headers=HTML)
        assert "new.comer@example.com (confirmed)" in page.text, error_of(page)


async def test_linking_from_the_account_page(
    site: httpx.AsyncClient, people: People, oidc_provider: OidcProvider
) -> None:
    """Any address will do when the user links it: they are logged in already."""
    oidc_provider.add(Person("work-sub", "someone@work.example", email_verified=False))
    await log_in(site, "member")
    token = await csrf_token(site, "/account")
    started = await site.post("/account/sign-in/link/oidc", data={"_csrf_token": token})
    assert started.status_code == 303
    linked = await site.get(await approve(started, "work-sub"))
    assert linked.headers["location"] == "/account"
    assert await links() == [(people.member, "oidc:work-sub")]
    page = await site.get("/account", headers=HTML)
    assert "Loopback ID: no verified address" in page.text, error_of(page)

    await log_out(site)
    assert (await sign_in(site, "work-sub")).status_code == 303
    assert await who(site) == "member"

    # The same provider account cannot be linked to a second user.
    await log_out(site)
    await log_in(site, "plain")
    token = await csrf_token(site, "/account")
    started = await site.post("/account/sign-in/link/oidc", data={"_csrf_token": token})
    refused = await site.get(await approve(started, "work-sub"))
    assert refused.status_code == 400
    assert "linked to another account" in refused.text, error_of(refused)
    assert await links() == [(people.member, "oidc:work-sub")]


async def test_unlinking_needs_the_password(
    site: httpx.AsyncClient, people: People, alice: Person
) -> None:
    await confirm_address(people.plain, "plain@example.com")
    assert (await sign_in(site, alice.subject)).status_code == 303
    (linked,) = await ProviderAccount.select(ProviderAccount.id)
    path = f"/account/sign-in/unlink/{linked['id']}"

    token = await csrf_token(site, "/account")
    wrong = await site.post(path, data={"current_password": "nope", "_csrf_token": token})
    assert wrong.status_code == 400
    assert len(await links()) == 1
    other = await site.post(
        "/account/sign-in/unlink/999999", data={"current_password": PASSWORD, "_csrf_token": token}
    )
    assert other.status_code == 404

    done = await site.post(path, data={"current_password": PASSWORD, "_csrf_token": token})
    assert done.status_code == 303
    assert await links() == []


async def test_someone_elses_link_cannot_be_removed(
    site: httpx.AsyncClient, people: People, alice: Person
) -> None:
    await confirm_address(people.plain, "plain@example.com")
    assert (await sign_in(site, alice.subject)).status_code == 303
    (linked,) = await ProviderAccount.select(ProviderAccount.id)
    await log_out(site)
    await log_in(site, "member")
    token = await csrf_token(site, "/account")

    refused = await site.post(
        f"/account/sign-in/unlink/{linked['id']}",
        data={"current_password": PASSWORD, "_csrf_token": token},
    )

    assert refused.status_code == 404
    assert len(await links()) == 1


async def test_an_account_with_a_second_factor_still_asks_for_the_code(
    site: httpx.AsyncClient, people: People, alice: Person
) -> None:
    await confirm_address(people.plain, "plain@example.com")
    await enrol(site, "plain")

    pending = await sign_in(site, alice.subject)

    assert pending.status_code == 303
    assert pending.headers["location"] == "/login/code"
    assert SESSION_COOKIE not in pending.cookies
    assert await who(site) is None


async def test_a_disabled_account_is_not_signed_in(
    site: httpx.AsyncClient, people: People, oidc_provider: OidcProvider
) -> None:
    await confirm_address(people.inactive, "gone@example.com")
    oidc_provider.add(Person("gone-sub", "gone@example.com"))

    refused = await sign_in(site, "gone-sub")

    assert refused.status_code == 400
    assert await who(site) is None


async def test_github_signs_in_by_its_verified_primary_address(
    site: httpx.AsyncClient, people: People, alice: Person, oidc_provider: OidcProvider
) -> None:
    await confirm_address(people.plain, "plain@example.com")

    done = await sign_in(site, alice.subject, name="github")

    assert done.status_code == 303, done.text
    assert await who(site) == "plain"
    assert await links() == [(people.plain, "github:4242")]

    oidc_provider.add(Person("bob-sub", "staff@example.com", email_verified=False, github_id=7))
    await confirm_address(people.staff, "staff@example.com")
    await log_out(site)
    refused = await sign_in(site, "bob-sub", name="github")
    assert refused.status_code == 400
    assert "has not verified" in refused.text, error_of(refused)


async def test_a_provider_that_cannot_be_reached_gets_a_message(people: People) -> None:
    changes = {
        "oidc_issuer": "http://127.0.0.1:9",  # discard: nothing listens
        "oidc_client_id": CLIENT_ID,
        "oidc_client_secret": CLIENT_SECRET,
    }
    app = await build_site([], "Down", **changes)
    async with client_for(app) as client:
        token = await csrf_token(client, "/login")
        answer = await client.post("/login/oidc/oidc", data={"_csrf_token": token}, headers=HTML)
    assert answer.status_code == 502
    assert "cannot be reached" in answer.text


async def test_providers_are_off_unless_configured(client: httpx.AsyncClient) -> None:
    page = await client.get("/login")
    assert "/login/oidc/" not in page.text
    token = await csrf_token(client, "/login")
    assert (await client.post("/login/oidc/oidc", data={"_csrf_token": token})).status_code == 404
    assert (await client.get("/login/oidc/google/callback?code=x&state=y")).status_code == 404


@pytest.mark.engine_independent
@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"OIDC_CLIENT_ID": "x", "OIDC_ISSUER": "https://id.example"}, "OIDC_CLIENT_SECRET"),
        ({"OIDC_CLIENT_ID": "x", "OIDC_CLIENT_SECRET": "y"}, "OIDC_ISSUER=''"),
        (
            {"OIDC_CLIENT_ID": "x", "OIDC_CLIENT_SECRET": "y", "OIDC_ISSUER": "http://id.example"},
            "https://",
        ),
        (
            {
                "OIDC_GITHUB_CLIENT_ID": "x",
                "OIDC_GITHUB_CLIENT_SECRET": "y",
                "ENVIRONMENT": "production",
                "SECRET_KEY": "k" * 40,
                "ALLOWED_HOSTS": "example.com",
            },
            "SITE_URL",
        ),
    ],
    ids=["no secret", "no issuer", "plain http", "http site in production"],
)
def test_settings_refuse_a_provider_that_cannot_work(environ: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        load_settings(environ, env_file=None)


@pytest.mark.engine_independent
def test_a_loopback_issuer_is_allowed_outside_production() -> None:
    environ = {
        "OIDC_CLIENT_ID": "x",
        "OIDC_CLIENT_SECRET": "y",
        "OIDC_ISSUER": "http://127.0.0.1:1",
    }
    assert load_settings(environ, env_file=None).oidc_issuer == "http://127.0.0.1:1"
