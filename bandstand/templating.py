"""Jinja templates, compiled once at start-up: the site's (`templates/`), then any feature's own
folder (`Feature.templates`), then the framework's (`bandstand/templates/`), so a site overrides
any template by giving its name.

Jinja's file loader stats and reads template files on the event loop, on the first render and
(with auto-reload) on every render after it. Compiling everything up front and turning
auto-reload off keeps file I/O out of request handlers; DEBUG turns reload back on for
template editing in development.

A process that builds the app more than once (a test suite, `create_app` for other settings)
compiles each template once: the compiled code is kept in memory, keyed by the template's file
and checked against its source, so an edited template is compiled again.
"""

from collections.abc import Sequence
from pathlib import Path

from jinja2 import BytecodeCache, ChoiceLoader, Environment, FileSystemLoader, select_autoescape
from jinja2.bccache import Bucket
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template.config import TemplateConfig

from bandstand.accounts.oidc import providers
from bandstand.features import Feature
from bandstand.settings import Settings

FRAMEWORK_TEMPLATES = Path(__file__).resolve().parent / "templates"


class _CompiledTemplates(BytecodeCache):
    """Compiled templates kept for the life of the process. Jinja keys a template by its name
    and file, not by the environment's options: every environment given this cache must be
    made by `create_template_config`, with the same options."""

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)  # dropped by Jinja if the source has changed

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


_COMPILED = _CompiledTemplates()


def template_loader(settings: Settings, features: Sequence[Feature]) -> ChoiceLoader:
    """Where a template's name is looked up: the site's folder, the features', the framework's."""
    return ChoiceLoader(
        [
            FileSystemLoader(settings.path("templates")),
            *(FileSystemLoader(feature.templates) for feature in features if feature.templates),
            FileSystemLoader(FRAMEWORK_TEMPLATES),
        ]
    )


def create_template_config(
    settings: Settings, features: Sequence[Feature], site_name: str
) -> TemplateConfig[JinjaTemplateEngine]:
    environment = Environment(
        loader=template_loader(settings, features),
        autoescape=select_autoescape(default=True, default_for_string=True),
        auto_reload=settings.debug,
        cache_size=-1,
        bytecode_cache=_COMPILED,
    )
    for name in environment.list_templates(extensions=["html"]):
        environment.get_template(name)
    environment.globals["site_name"] = site_name
    environment.globals["navigation"] = [feature.nav for feature in features if feature.nav]
    environment.globals["sign_in_providers"] = {
        name: provider.label for name, provider in providers(settings).items()
    }
    return TemplateConfig(instance=JinjaTemplateEngine.from_environment(environment))
