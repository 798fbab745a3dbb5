"""OCT310 sql-memory-limit: SQL Server without a memory limit; at the service."""

from pathlib import Path

from rulecheck import COMPOSE_SQL, deploy, where


def test_sql_server_without_limit(tmp_path: Path) -> None:
    text = COMPOSE_SQL + '    environment:\n      ACCEPT_EULA: "Y"\n'
    assert where(deploy(tmp_path, {"compose.yaml": text}, "OCT310")) == [("OCT310", 2, 3, 2)]


def test_sqls_own_cap_passes(tmp_path: Path) -> None:
    text = COMPOSE_SQL + "    environment:\n      MSSQL_MEMORY_LIMIT_MB: 2048\n"
    assert deploy(tmp_path, {"compose.yaml": text}, "OCT310") == []


def test_container_memory_limit_passes(tmp_path: Path) -> None:
    assert deploy(tmp_path, {"compose.yaml": COMPOSE_SQL + "    mem_limit: 4g\n"}, "OCT310") == []
