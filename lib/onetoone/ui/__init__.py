"""Figures and widgets: plotly builders in one theme (ui.theme) and ipywidgets apps."""
