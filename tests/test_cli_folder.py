"""The README's shared-folder walk-through, command by command (gate-init, init, propose,
decide, wait, review list), with key files and a throwaway state directory."""

from __future__ import annotations

from click.testing import CliRunner

from core.cli.main import cli

SUMMARY = ('{"title":"Pay invoice 4411","why":"Due today","blast_radius":"one vendor",'
           '"reversibility":"irreversible"}')


def test_folder_walkthrough(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    run = CliRunner().invoke

    def ok(*args: str) -> str:
        r = run(cli, list(args))
        assert r.exit_code == 0, (args, r.output, r.exception)
        return r.output

    snippet = ok("folder", "gate-init", str(tmp_path / "gate"), "--gate", "gate:prod",
                 "--log-name", "usb.example/foureyes")
    roster = []
    for who in ("alice", "bob", "carol"):
        out = ok("keys", "new", "--identity", f"{who}@example.com", "--key-file",
                 str(tmp_path / f"{who}.key"))
        roster.append(f'[[approvers]]\nidentity = "{who}@example.com"\n'
                      f'key = "{out.splitlines()[1]}"\n')
    policy = tmp_path / "policy.toml"
    policy.write_text('schema = "foureyes.policy/v1"\nname = "usb"\ndefault = "deny"\n'
                      'ttl = "30m"\n\n' + "\n".join(roster) + "\n"
                      + snippet.split("\n", 1)[1] + '\n[[rules]]\nroute = "payments.*"\n'
                      'approvals = 2\n')
    assert "sha256:" in ok("policy", "check", str(policy))
    usb = str(tmp_path / "usb")
    ok("folder", "init", usb, "--policy", str(policy))
    gate = ["--folder", usb, "--gate-state", str(tmp_path / "gate")]
    proposal = ok("propose", *gate, "--route", "payments.transfer", "--params",
                  '{"amount_minor":120000,"currency":"USD","to":"acct-991"}', "--summary",
                  SUMMARY, "--requester", "alice@example.com").strip().splitlines()[-1]
    short = proposal[7:19]
    from tests.test_cli_flow import fingerprint

    fp = fingerprint("payments.transfer",
                     '{"amount_minor":120000,"currency":"USD","to":"acct-991"}')
    # sealed to the gate, which refuses it and logs the refusal (it never counts)
    ok("decide", short, "--approve", "--yes-i-checked", fp, "--reason", "mine", "--folder", usb,
       "--identity", "alice@example.com", "--key-file", str(tmp_path / "alice.key"))
    for who in ("bob", "carol"):
        ok("decide", short, "--approve", "--yes-i-checked", fp, "--reason", f"checked ({who})",
           "--folder", usb,
           "--identity", f"{who}@example.com", "--key-file", str(tmp_path / f"{who}.key"))
    assert "approved" in ok("wait", short, *gate, "--timeout", "5")
    listing = ok("review", "list", "--folder", usb, "--identity", "bob@example.com",
                 "--key-file", str(tmp_path / "bob.key"))
    assert short in listing and "(you decided)" in listing
