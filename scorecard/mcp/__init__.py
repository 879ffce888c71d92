"""scorecard over the Model Context Protocol: tools that let an agent read scorecards,
served over stdio (`scorecard mcp`) and over streamable HTTP at `/mcp` of `scorecard
serve`."""

from scorecard.mcp.server import build_server

__all__ = ["build_server"]
