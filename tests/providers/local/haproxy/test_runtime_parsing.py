"""Parsing HAProxy's runtime API answers (texts as HAProxy 2.6 prints them)."""

from __future__ import annotations

from gennaker.providers.local.haproxy.runtime import (
    admin_state,
    parse_info_pid,
    parse_servers_state,
    parse_show_proc,
    parse_stat,
)

SHOW_PROC = """#<PID>          <type>          <reloads>       <uptime>        <version>
19756           master          2 [failed: 1]   0d00h11m17s     2.6.12-1+deb12u4
# workers
5994            worker          1               0d00h00m15s     2.6.12-1+deb12u4
# programs

"""

SERVERS_STATE = """1
# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port
4 web 1 a 127.0.0.1 2 0 1 1 626 15 3 3 6 0 0 0 - 18081 - 0 0 - - 0
4 web 2 b 127.0.0.1 0 1 50 50 0 1 0 0 2 0 0 0 - 18082 - 0 0 - - 0
4 web 3 z 127.0.0.1 2 4 1 1 2 15 3 3 6 0 0 0 - 18083 - 0 0 - - 0
4 web 4 d 127.0.0.1 2 8 30 50 1 15 3 3 6 0 0 0 - 18084 - 0 0 - - 0

"""


def test_show_proc_counts_reloads_failures_and_workers() -> None:
    procs = parse_show_proc(SHOW_PROC)
    assert (procs.reloads, procs.failed_reloads, procs.workers) == (2, 1, (5994,))
    older = parse_show_proc(SHOW_PROC.replace(" [failed: 1]", ""))
    assert (older.reloads, older.failed_reloads) == (2, 0)


def test_servers_state_gives_addresses_weights_and_admin_states() -> None:
    rows = {r.name: r for r in parse_servers_state(SERVERS_STATE)}
    assert (rows["a"].address, rows["a"].port, rows["a"].weight, rows["a"].admin_state) == (
        "127.0.0.1",
        18081,
        1,
        "ready",
    )
    assert rows["b"].admin_state == "maint"  # forced maintenance (a new dynamic server)
    assert rows["z"].admin_state == "ready"  # "disabled" in the config, then set ready
    assert (rows["d"].admin_state, rows["d"].weight) == ("drain", 30)
    assert admin_state(0x20) == "maint" and admin_state(0x10) == "drain"


def test_show_stat_keeps_server_lines() -> None:
    header = "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,"
    cols = header[2:].rstrip(",").split(",")

    def line(**values: str) -> str:
        return ",".join(values.get(c, "") for c in cols) + ","

    text = "\n".join(
        [
            header,
            line(pxname="web", svname="FRONTEND", type="0", status="OPEN"),
            line(
                pxname="web",
                svname="a",
                type="2",
                status="UP",
                scur="3",
                qcur="1",
                weight="7",
                check_status="* L7OK",
            ),
            line(
                pxname="web",
                svname="b",
                type="2",
                status="MAINT",
                scur="0",
                qcur="0",
                weight="1",
                check_status="INI",
            ),
            line(pxname="web", svname="BACKEND", type="1", status="UP"),
        ]
    )
    rows = parse_stat(text)
    assert [(r.server, r.status, r.current_sessions, r.queued, r.weight, r.check_status) for r in rows] == [
        ("a", "UP", 3, 1, 7, "L7OK"),
        ("b", "MAINT", 0, 0, 1, "INI"),
    ]


def test_show_info_pid() -> None:
    assert parse_info_pid("Name: HAProxy\nVersion: 2.6.12\nPid: 19758\nUptime: 0d 0h10m12s\n") == 19758
