"""The gateway user-list filters (roles/ollama_gate/filter_plugins/users.py)."""
import pytest
from ansible.errors import AnsibleFilterError
from passlib.hash import apr_md5_crypt, bcrypt, ldap_salted_sha1, sha512_crypt

from ollama_gate_filters import load

gu = load("users")

PW_A = "alice-password-0123456789"
PW_B = "bob-password-0123456789xx"
USERS = [{"name": "alice", "password": PW_A}, {"name": "bob", "password": PW_B}]


def parse(content):
    return dict(line.split(":", 1) for line in content.splitlines())


@pytest.mark.parametrize(
    ("users", "expected"),
    [
        ([{"name": "", "password": PW_A}], "name '' is not allowed"),
        ([{"name": "a:b", "password": PW_A}], "name 'a:b' is not allowed"),
        ([{"name": "a b", "password": PW_A}], "name 'a b' is not allowed"),
        ([{"name": "carol", "password": "short"}], "user 'carol': password shorter than 20"),
        ([{"name": "carol"}], "user 'carol': no password"),
        ([{"name": "carol", "password": "CHANGE-ME-at-least-20-characters"}], "placeholder"),
        ([{"name": "carol", "password": PW_A, "state": "gone"}], "state must be present or absent"),
        ([{"name": "carol", "password": PW_A}, {"name": "carol", "password": PW_B}], "listed twice"),
        ([{"name": "carol", "password": PW_A}, {"name": "Carol", "password": PW_B}], "differs from 'carol' only in case"),
        ("alice", "must be a list"),
    ],
)
def test_problems_name_the_user_not_the_password(users, expected):
    problems = gu.gateway_users_problems(users, 20)
    assert any(expected in p for p in problems), problems
    assert not any(PW_A in p or PW_B in p for p in problems)


def test_absent_user_needs_no_password():
    assert gu.gateway_users_problems([{"name": "old", "state": "absent"}], 20) == []


def test_min_length_configurable():
    assert gu.gateway_users_problems([{"name": "a", "password": "x" * 12}], 12) == []


@pytest.mark.parametrize(
    ("scheme", "cost", "handler"),
    [("ssha", None, ldap_salted_sha1), ("apr1", None, apr_md5_crypt), ("sha512_crypt", None, sha512_crypt), ("bcrypt", 5, bcrypt)],
)
def test_hashes_verify_with_scheme(scheme, cost, handler):
    hashes = parse(gu.gateway_htpasswd(USERS, "", scheme, cost))
    assert set(hashes) == {"alice", "bob"}
    assert handler.verify(PW_A, hashes["alice"]) and handler.verify(PW_B, hashes["bob"])
    assert PW_A not in hashes["alice"]


def test_sha512_uses_glibc_rounds_by_default():
    assert parse(gu.gateway_htpasswd(USERS[:1], "", "sha512_crypt"))["alice"].startswith("$6$")
    assert "rounds=" not in gu.gateway_htpasswd(USERS[:1], "", "sha512_crypt")


def test_unchanged_list_keeps_content_byte_identical():
    first = gu.gateway_htpasswd(USERS, "", "bcrypt", 5)
    assert gu.gateway_htpasswd(USERS, first, "bcrypt", 5) == first


def test_changed_password_rehashed_others_kept():
    first = parse(gu.gateway_htpasswd(USERS, "", "ssha"))
    changed = [{"name": "alice", "password": "a-brand-new-password-42"}, USERS[1]]
    second = parse(gu.gateway_htpasswd(changed, "".join(f"{k}:{v}\n" for k, v in first.items()), "ssha"))
    assert second["bob"] == first["bob"]
    assert second["alice"] != first["alice"]
    assert ldap_salted_sha1.verify("a-brand-new-password-42", second["alice"])


@pytest.mark.parametrize(("old", "new"), [(("ssha", None), ("bcrypt", 5)), (("bcrypt", 4), ("bcrypt", 5))])
def test_scheme_or_cost_change_rehashes(old, new):
    first = gu.gateway_htpasswd(USERS, "", *old)
    second = parse(gu.gateway_htpasswd(USERS, first, *new))
    assert all(h.startswith("$2y$05$") for h in second.values())


def test_exclusive_removes_unlisted_and_absent_users():
    existing = gu.gateway_htpasswd(USERS + [{"name": "eve", "password": "eve-password-0123456789"}], "", "ssha")
    users = [USERS[0], {"name": "bob", "state": "absent"}]
    assert set(parse(gu.gateway_htpasswd(users, existing, "ssha"))) == {"alice"}


def test_empty_list_gives_empty_file():
    assert gu.gateway_htpasswd([], "alice:{SSHA}xx\n", "ssha") == ""


def test_invalid_list_refused_without_password_in_error():
    with pytest.raises(AnsibleFilterError) as err:
        gu.gateway_htpasswd([{"name": "a:b", "password": PW_A}], "", "ssha")
    assert PW_A not in str(err.value)


def test_unknown_scheme_refused():
    with pytest.raises(AnsibleFilterError, match="unknown hash scheme 'md5'"):
        gu.gateway_htpasswd(USERS, "", "md5")


def test_space_separated_accounts_for_caddy_are_kept():
    first = gu.gateway_htpasswd(USERS, "", "bcrypt", 5, " ")
    assert [line.split(" ")[0] for line in first.splitlines()] == ["alice", "bob"]
    assert bcrypt.verify(PW_A, first.splitlines()[0].split(" ")[1])
    assert gu.gateway_htpasswd(USERS, first, "bcrypt", 5, " ") == first


@pytest.mark.parametrize(
    ("user", "expected"),
    [
        ({"name": "carol", "password": PW_A, "role": "root"}, "role must be user or admin"),
        ({"name": "carol", "password": PW_A, "expires": "next week"}, "expires must be a date"),
        ({"name": 'car"ol', "password": PW_A}, "use letters, digits"),
        ({"name": "car;ol", "password": PW_A}, "use letters, digits"),
        ({"name": "..", "password": PW_A}, "starting with a letter or digit"),
        ({"name": ".lock", "password": PW_A}, "starting with a letter or digit"),
    ],
)
def test_role_expiry_and_name_charset_checked(user, expected):
    assert any(expected in p for p in gu.gateway_users_problems([user], 20))


def test_expired_users_are_removed():
    import datetime

    users = [dict(USERS[0], expires="2020-01-01"), dict(USERS[1], expires=datetime.date.today().isoformat())]
    assert gu.gateway_users_present(users) == ["bob"]  # valid through its expiry day
    assert set(parse(gu.gateway_htpasswd(users, "", "ssha"))) == {"bob"}
    assert gu.gateway_users_problems(users, 20) == []


def test_admins_are_present_users_with_role_admin():
    users = [dict(USERS[0], role="admin"), USERS[1], {"name": "old", "role": "admin", "state": "absent"},
             {"name": "gone", "password": PW_B, "role": "admin", "expires": "2001-01-01"}]
    assert gu.gateway_users_admins(users) == ["alice"]
