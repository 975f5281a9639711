"""pjsip_wizard.conf trunks expanded into the objects res_pjsip_config_wizard.c creates.

Names: endpoint and aor `id`, auths `id-oauth`/`id-iauth`, identify `id-identify`,
registrations `id-reg-N` (one per remote host), phoneprov `id-phoneprov`. Options pass
through with prefixes (`endpoint/context=...`). The identify gets one match per remote
host, port included (22.10 keeps `host:port`, seen in the lab's IdentifyDetail; older
releases cut it off), unless the wizard accepts registrations or sets identify/match.
The aor gets `contact=sip:${REMOTE_HOST}` per host unless aor/contact is set.
"""

from __future__ import annotations

from trunkconsole.conf.filters import matches_filter
from trunkconsole.conf.tree import Category, LoadedConfig, Variable
from trunkconsole.pjsip.objects import Option, PjsipObject, is_true


def _last(variables: list[Variable], name: str) -> Variable | None:
    """ast_variable_find_last_in_list()."""
    low = name.lower()
    found = None
    for var in variables:
        if var.name.lower() == low:
            found = var
    return found


class _Wizard:
    """One wizard section and the helpers to derive options from its lines."""

    def __init__(self, cat: Category) -> None:
        self.cat = cat
        self.id = cat.name
        self.vars = cat.variables
        self.hosts: list[str] = []
        self.remote = _last(self.vars, "remote_hosts")
        if self.remote is not None and self.remote.value:
            self.hosts = [host.strip() for host in self.remote.value.split(",")]

    def true(self, name: str) -> bool:
        var = _last(self.vars, name)
        return var is not None and is_true(var.value)

    def prefixed(self, prefix: str) -> list[Option]:
        """get_object_variables(): lines starting with prefix, prefix removed."""
        return [Variable(var.name[len(prefix):], var.value, var.file, var.line, var.section)
                for var in self.vars if var.name.startswith(prefix)]

    def derived(self, name: str, value: str, var: Variable | None = None) -> Option:
        """An option the wizard adds, attributed to the line that causes it (or the header)."""
        if var is None:
            return Variable(name, value, self.cat.file, self.cat.line, self.id)
        return Variable(name, value, var.file, var.line, var.section)

    def new(self, kind: str, object_id: str, options: list[Option]) -> PjsipObject:
        return PjsipObject(type=kind, id=object_id, file=self.cat.file, line=self.cat.line,
                           options=[Variable("type", kind, self.cat.file, self.cat.line,
                                             self.id), *options],
                           bases=self.cat.bases, wizard=self.id)


def _has(options: list[Option], name: str) -> bool:
    return any(option.name.lower() == name for option in options)


def expand_wizards(wizard_conf: LoadedConfig) -> list[PjsipObject]:
    """Every object the wizards in pjsip_wizard.conf generate."""
    objects: list[PjsipObject] = []
    for cat in wizard_conf.categories:
        if cat.template or not matches_filter(cat, "type=^wizard$"):
            continue
        objects.extend(expand(_Wizard(cat)))
    return objects


def expand(wiz: _Wizard) -> list[PjsipObject]:
    """The objects of one wizard, in the order the handlers create them."""
    out: list[PjsipObject] = []
    transport = _last(wiz.vars, "transport")
    for direction, switch, suffix in (("outbound", "sends_auth", "oauth"),
                                      ("inbound", "accepts_auth", "iauth")):
        if wiz.true(switch):
            options = wiz.prefixed(f"{direction}_auth/")
            if not _has(options, "auth_type"):
                options.append(wiz.derived("auth_type", "userpass"))
            auth = wiz.new("auth", f"{wiz.id}-{suffix}", options)
            if not _has(options, "username"):
                auth.rejected.append(f"Wizard '{wiz.id}' must have '{direction}_auth/username'"
                                     f" if it {switch}.")
            out.append(auth)

    aor = wiz.prefixed("aor/")
    if not _has(aor, "contact"):
        pattern_var = _last(wiz.vars, "contact_pattern")
        pattern = pattern_var.value if pattern_var is not None else "sip:${REMOTE_HOST}"
        for host in wiz.hosts if pattern else []:
            aor.append(wiz.derived("contact", pattern.replace("${REMOTE_HOST}", host),
                                   wiz.remote))
    out.append(wiz.new("aor", wiz.id, aor))

    endpoint = wiz.prefixed("endpoint/")
    endpoint.append(wiz.derived("aors", wiz.id))
    if transport is not None and transport.value:
        endpoint.append(wiz.derived("transport", transport.value, transport))
    if wiz.true("sends_auth"):
        endpoint.append(wiz.derived("outbound_auth", f"{wiz.id}-oauth",
                                    _last(wiz.vars, "sends_auth")))
    if wiz.true("accepts_auth"):
        endpoint.append(wiz.derived("auth", f"{wiz.id}-iauth", _last(wiz.vars, "accepts_auth")))
    out.append(wiz.new("endpoint", wiz.id, endpoint))

    if not wiz.true("accepts_registrations") and not wiz.hosts:
        missing = wiz.new("identify", f"{wiz.id}-identify", [])
        missing.rejected.append(f"Wizard '{wiz.id}' must have 'remote_hosts' if it doesn't "
                                "accept registrations.")
        out.append(missing)
    elif not wiz.true("accepts_registrations"):
        identify = wiz.prefixed("identify/")
        identify.append(wiz.derived("endpoint", wiz.id))
        if not _has(identify, "match"):
            for host in wiz.hosts:
                identify.append(wiz.derived("match", host, wiz.remote))
        out.append(wiz.new("identify", f"{wiz.id}-identify", identify))

    if wiz.true("sends_registrations") and wiz.hosts:
        out.extend(_registrations(wiz, transport))
    if wiz.true("has_phoneprov"):
        phoneprov = wiz.prefixed("phoneprov/")
        phoneprov.append(wiz.derived("endpoint", wiz.id))
        out.append(wiz.new("phoneprov", f"{wiz.id}-phoneprov", phoneprov))
    return out


def _registrations(wiz: _Wizard, transport: Variable | None) -> list[PjsipObject]:
    server = _last(wiz.vars, "server_uri_pattern")
    client = _last(wiz.vars, "client_uri_pattern")
    server_pattern = server.value if server is not None else "sip:${REMOTE_HOST}"
    client_pattern = client.value if client is not None else "sip:${USERNAME}@${REMOTE_HOST}"
    if wiz.true("sends_auth"):
        user = _last(wiz.vars, "outbound_auth/username")
        username = user.value if user is not None else ""
    else:
        username = wiz.id
    out = []
    for number, host in enumerate(wiz.hosts):
        options = wiz.prefixed("registration/")

        def fill(pattern: str, host: str = host) -> str:
            return pattern.replace("${REMOTE_HOST}", host).replace("${USERNAME}", username)

        if server_pattern:
            options.append(wiz.derived("server_uri", fill(server_pattern), server or wiz.remote))
        if client_pattern:
            options.append(wiz.derived("client_uri", fill(client_pattern), client or wiz.remote))
        if wiz.true("sends_auth"):
            options.append(wiz.derived("outbound_auth", f"{wiz.id}-oauth"))
        if transport is not None and transport.value:
            options.append(wiz.derived("transport", transport.value, transport))
        out.append(wiz.new("registration", f"{wiz.id}-reg-{number}", options))
    return out
