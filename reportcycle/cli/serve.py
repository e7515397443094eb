"""`reportcycle serve`: every flow as a Prefect deployment on its schedule."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from reportcycle.cli.common import fail, migrate, out


def serve(
    regime_files: Annotated[
        list[Path] | None, typer.Argument(help="regimes to schedule (default: regimes/*.yaml)")
    ] = None,
    limit: Annotated[int, typer.Option(help="flow runs at once in this process")] = 4,
) -> None:
    """Serve every flow as a Prefect deployment on its schedule (Asia/Ho_Chi_Minh); Ctrl+C
    stops. Watch them in the Prefect UI."""
    from flows.serve import serve_all
    from models.settings import get_settings
    from reportcycle.cycle.schedules import deployment_specs
    from reportcycle.regime.loading import RegimeError, load_regime
    from reportcycle.report.files_server import serve_for

    paths = regime_files or sorted(Path("regimes").glob("*.yaml"))
    if not paths:
        raise fail("không có tệp chế độ báo cáo: hãy nêu tệp, hoặc chạy trong thư mục mã nguồn")
    for path in paths:
        try:
            load_regime(path)
        except (RegimeError, FileNotFoundError) as exc:
            raise fail(f"{path}: {exc}") from None
    migrate()
    files = serve_for(get_settings())  # so the report artifact's links open
    if files is not None:
        url = get_settings().reports_url
        out.print(f"tệp báo cáo (chỉ đọc): {url} (cổng {files.server_port})", highlight=False)
    for spec in deployment_specs(paths):
        out.print(f"lịch chạy {spec.name}: {spec.cron} ({spec.timezone})", highlight=False)
    serve_all(paths, limit=limit)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
