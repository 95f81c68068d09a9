"""The attention explorer's web page (Gradio): `build_ui(explorer)` and `launch_explorer(pipeline)`.

Two named API endpoints, every input with a default, PNG outputs:
  /generate   (class_name, seed, truncation, num_images) -> gallery of images
  /attention  (class_name, seed, truncation, image_index, x, y) -> gallery: the image with the query
              marked, then one overlay per attention layer
The page's own events (clicking a thumbnail or a pixel) call the same functions and are not API
endpoints. Nothing is fetched from or sent to the internet: Gradio serves its assets itself, and its
analytics are switched off before it is imported.
"""

from __future__ import annotations

import functools
import os

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # read by gradio at import and launch: no calls home

try:
    import gradio as gr
except ImportError as error:  # the `app` extra is optional (gradio pins pillow < 13)
    raise ImportError(f"the attention explorer needs gradio: pip install 'sagan-hf[app]' ({error})") from error

from .explorer import MAX_IMAGES, Explorer

TITLE = "SAGAN attention explorer"
HOW_TO = ("Pick a class and a seed, **Generate**, then click a pixel of the image on the left: each attention "
          "layer of the generator shows where that location attends (bright = more weight).")


def _user_errors(function):
    """Show a bad input (ValueError) as a message on the page / an error to API clients, not a traceback."""
    @functools.wraps(function)  # keeps the signature: Gradio reads parameter names and `gr.SelectData` hints
    def call(*args):
        try:
            return function(*args)
        except ValueError as error:
            raise gr.Error(str(error)) from None

    return call


def build_ui(explorer: Explorer, title: str = TITLE) -> gr.Blocks:
    """The page for `explorer` (not launched)."""
    side = explorer.side

    @_user_errors
    def generate(class_name, seed, truncation, num_images):
        """Generate `num_images` images of a class; image i uses seed + i."""
        return explorer.generate(class_name, seed, truncation, num_images)

    @_user_errors
    def attention(class_name, seed, truncation, image_index, x, y):
        """Where pixel (x, y) of image `image_index` attends, for each attention layer."""
        return explorer.attention(class_name, seed, truncation, image_index, x, y)

    @_user_errors
    def show_image(class_name, seed, truncation, image_index, num_images):
        index = min(int(image_index or 0), int(num_images) - 1)
        return index, explorer.image(class_name, seed, truncation, index)

    @_user_errors
    def pick_image(class_name, seed, truncation, event: gr.SelectData):
        return event.index, explorer.image(class_name, seed, truncation, event.index)

    def pick_pixel(event: gr.SelectData):
        x, y = event.index  # pixels of the displayed (enlarged) image
        return min(x // explorer.scale, side - 1), min(y // explorer.scale, side - 1)

    with gr.Blocks(title=title, analytics_enabled=False) as page:
        gr.Markdown(f"# {title}\n{explorer.description()}. {HOW_TO}")
        with gr.Row():
            with gr.Column(scale=1):
                class_name = gr.Dropdown(explorer.class_names, value=explorer.class_names[0], label="class",
                                         filterable=True, elem_id="class-name")
                seed = gr.Number(0, label="seed (image i uses seed + i)", precision=0, minimum=0, elem_id="seed")
                truncation = gr.Slider(0, 2, value=0, step=0.05, label="truncation (0: off)", elem_id="truncation")
                num_images = gr.Slider(1, MAX_IMAGES, value=4, step=1, label="number of images", elem_id="num-images")
                generate_button = gr.Button("Generate", variant="primary", elem_id="generate")
            with gr.Column(scale=2):
                samples = gr.Gallery(label="samples (click one to query it)", format="png", columns=4,
                                     object_fit="contain", height="auto", elem_id="samples")
        with gr.Row():
            with gr.Column(scale=1):
                query_image = gr.Image(label="click a pixel", type="pil", format="png", interactive=False,
                                       elem_id="query-image")
                with gr.Row():
                    image_index = gr.Number(0, label="image", precision=0, minimum=0, min_width=60,
                                            elem_id="image-index")
                    x = gr.Number(side // 2, label=f"x (0-{side - 1})", precision=0, minimum=0, maximum=side - 1,
                                  min_width=60, elem_id="query-x")
                    y = gr.Number(side // 2, label=f"y (0-{side - 1})", precision=0, minimum=0, maximum=side - 1,
                                  min_width=60, elem_id="query-y")
                attention_button = gr.Button("Show attention at (x, y)", elem_id="show-attention")
            with gr.Column(scale=2):
                attention_maps = gr.Gallery(label="where the query attends, per attention layer", format="png",
                                            columns=1 + len(explorer.attention_resolutions), object_fit="contain",
                                            height="auto", elem_id="attention")

        controls = [class_name, seed, truncation]
        # The page's own events get names of their own, so that the public names stay free.
        page_only = dict(api_visibility="private")
        generate_button.click(generate, [*controls, num_images], samples, api_name="generate").then(
            show_image, [*controls, image_index, num_images], [image_index, query_image], api_name="show_image",
            **page_only)
        samples.select(pick_image, controls, [image_index, query_image], api_name="pick_image", **page_only)
        query_image.select(pick_pixel, None, [x, y], api_name="pick_pixel", **page_only).then(
            attention, [*controls, image_index, x, y], attention_maps, api_name="attention_of_click", **page_only)
        attention_button.click(attention, [*controls, image_index, x, y], attention_maps, api_name="attention")
    return page


def launch_explorer(pipeline: str, *, revision: str | None = None, host: str | None = None, port: int | None = None,
                    device: str | None = None, block: bool = True):
    """Load `pipeline` (folder, or Hub repo id at `revision`) with `SAGANPipeline` and serve the explorer.

    `host`/`port` default to Gradio's (GRADIO_SERVER_NAME / GRADIO_SERVER_PORT, else 127.0.0.1 and the
    first free port from 7860). With `block=False` it returns `(page, local_url)` and serves in the
    background (`page.close()` stops it).
    """
    page = build_ui(Explorer.from_pretrained(pipeline, device=device, revision=revision))
    _, url, _ = page.launch(server_name=host, server_port=port, prevent_thread_lock=not block, share=False,
                            show_error=True, quiet=not block)
    return page, url
