"""Helpers for e2e tests: the running stack's env file and libtorrent sessions set up so that
peers come only from the tracker (FIELD-NOTES: loopback needs allow_multiple_connections_per_ip,
no DHT/LSD/UPnP/NAT-PMP, no default plugins so no peer exchange, ssrf_mitigation off)."""
import os
import sys
import time


def load_env(stack_dir):
    env = {}
    with open(os.path.join(stack_dir, "env")) as f:
        for line in f:
            line = line.strip()
            if "=" in line:
                k, v = line.split("=", 1)
                env[k] = v
    return env


def lt_session(lt, ip="127.0.0.1"):
    settings = {
        "listen_interfaces": f"{ip}:0",
        "outgoing_interfaces": ip,
        "enable_dht": False,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "allow_multiple_connections_per_ip": True,
        "ssrf_mitigation": False,
        "announce_to_all_trackers": True,
        "announce_to_all_tiers": True,
        "alert_mask": lt.alert.category_t.error_notification | lt.alert.category_t.status_notification | lt.alert.category_t.tracker_notification,
    }
    try:
        return lt.session(settings, 0)  # flags=0: no default plugins (no ut_pex)
    except TypeError:
        return lt.session(settings)


def add(lt, ses, ti, save_path, seed_mode=False):
    p = lt.add_torrent_params()
    p.ti = ti
    p.save_path = save_path
    flags = lt.torrent_flags.disable_dht | lt.torrent_flags.disable_lsd | lt.torrent_flags.disable_pex
    if seed_mode:
        flags |= lt.torrent_flags.seed_mode
    p.flags |= flags
    return ses.add_torrent(p)


def wait_for(pred, timeout, what, step=0.1):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def fail(msg):
    print("FAIL:", msg, file=sys.stderr)
    sys.exit(1)
