"""Jinja templates, compiled once at start-up.

Jinja's file loader stats and reads template files on the event loop, on the first render and
(with auto-reload) on every render after it. Compiling everything up front and turning
auto-reload off keeps file I/O out of request handlers; DEBUG turns reload back on for
template editing in development.
"""

from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template.config import TemplateConfig

from project.features import FEATURES
from project.settings import BASE_DIR, Settings

TEMPLATES_DIR = BASE_DIR / "templates"


def create_template_config(settings: Settings) -> TemplateConfig[JinjaTemplateEngine]:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(default=True, default_for_string=True),
        auto_reload=settings.debug,
        cache_size=-1,
    )
    for name in environment.list_templates(extensions=["html"]):
        environment.get_template(name)
    environment.globals["site_name"] = "Bandstand"
    environment.globals["navigation"] = [feature.nav for feature in FEATURES if feature.nav]
    return TemplateConfig(instance=JinjaTemplateEngine.from_environment(environment))
