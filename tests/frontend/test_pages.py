"""The client's pages: who gets them, and the module scripts with integrity hashes (DESIGN §8)."""

import base64
import hashlib
import re
from pathlib import Path

import pytest

from consult.models import User
from frontend.templatetags.comity_modules import module_graph
from tests.helpers import make_user, verified_client
from tests.markup import assert_references_resolve
from tests.realtime import World, make_world, open_thread

pytestmark = pytest.mark.django_db
STATIC = Path(__file__).resolve().parents[2] / "frontend" / "static"
ENTRIES = ["comity/ui/thread-page.js", "comity/ui/keys-page.js", "comity/ui/records-page.js", "comity/ui/case-page.js",
           "comity/ui/threads-page.js"]  # fmt: skip


@pytest.mark.parametrize("entry", ENTRIES)
def test_module_graph__covers_every_import_with_its_sha384(entry: str) -> None:
    """Each module the entry reaches is listed once with the SHA-384 of its bytes."""
    graph = dict(module_graph(entry))
    assert next(iter(graph)) == entry
    for name, integrity in graph.items():
        data = (STATIC / name).read_bytes()
        assert integrity == "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()
        for target in re.findall(r"""from\s+'(\.[^']+)'""", data.decode()):
            resolved = (STATIC / name).parent.joinpath(target).resolve().relative_to(STATIC.resolve()).as_posix()
            assert resolved in graph, f"{name} imports {target}, missing from the graph"
    if entry == "comity/ui/thread-page.js":
        assert "comity/crypto/index.js" in graph and "comity/crypto/primitives.js" in graph


@pytest.fixture
def world() -> World:
    return make_world()


def test_pages__render_with_module_scripts_and_context(world: World) -> None:
    thread, _ = open_thread(world.fr, world.case)
    client = verified_client(world.fr.user)
    for path in ("/keys/", "/threads/", f"/threads/{thread}/", f"/cases/{world.case.pk}/"):
        response = client.get(path)
        assert response.status_code == 200, path
        html = response.content.decode()
        assert re.search(r'<script type="module" src="/static/comity/ui/[\w-]+\.js" integrity="sha384-[\w+/=]+">', html)
        assert 'rel="modulepreload"' in html and f'data-user="{world.fr.user.pk}"' in html
        assert "<script>" not in html and " style=" not in html  # the CSP allows no inline script or style
        assert_references_resolve(html)  # every aria-describedby/-labelledby and label names an id on the page
    page = client.get(f"/threads/{thread}/").content.decode()
    assert 'data-parties="FR-MJ DE-BFJ"' in page and 'data-member="1"' in page
    assert 'id="live-region"' in page and 'aria-live="polite"' in page


def test_pages__thread_page_only_for_those_who_see_it(world: World) -> None:
    thread, _ = open_thread(world.fr, world.case)
    assert verified_client(world.outsider.user).get(f"/threads/{thread}/").status_code == 404
    assert verified_client(world.liaison.user).get(f"/threads/{thread}/").status_code == 404
    observer = verified_client(world.de.user).get(f"/threads/{thread}/")  # sees the case, not yet a member
    assert observer.status_code == 200 and 'data-member="0"' in observer.content.decode()


def test_pages__records_key_page_for_supervisors_only(world: World) -> None:
    page = verified_client(world.fr_supervisor.user).get("/records-key/")
    assert page.status_code == 200
    assert_references_resolve(page.content.decode())
    assert verified_client(world.fr.user).get("/records-key/").status_code == 404
    admin = make_user(None, User.Role.ADMIN)
    assert verified_client(admin).get("/records-key/").status_code == 404
