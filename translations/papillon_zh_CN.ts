<?xml version='1.0' encoding='utf-8'?>
<TS version="2.1" language="zh_CN">
<context>
    <name>GalleryView</name>
    <message>
        <location filename="../ui/gallery/GalleryView.qml" line="28" />
        <source>Save image…</source>
        <translation>保存图像…</translation>
    </message>
    <message>
        <location filename="../ui/gallery/GalleryView.qml" line="33" />
        <source>Save selected…</source>
        <translation>保存所选…</translation>
    </message>
    <message>
        <location filename="../ui/gallery/GalleryView.qml" line="37" />
        <source>Each selected image as its own PNG in a folder</source>
        <translation>将每张所选图像分别保存为文件夹中的 PNG</translation>
    </message>
    <message>
        <location filename="../ui/gallery/GalleryView.qml" line="41" />
        <source>Save grid…</source>
        <translation>保存网格…</translation>
    </message>
    <message>
        <location filename="../ui/gallery/GalleryView.qml" line="52" />
        <source>Delete</source>
        <translation>删除</translation>
    </message>
    <message>
        <location filename="../ui/gallery/GalleryView.qml" line="56" />
        <source>Remove the selected images and their files in the library (Del)</source>
        <translation>移除所选图像及其在图库中的文件（Del）</translation>
    </message>
    <message numerus="yes">
        <location filename="../ui/gallery/GalleryView.qml" line="61" />
        <source>%1 of %n image(s) selected</source>
        <translation><numerusform>已选 %1 张，共 %n 张</numerusform></translation>
    </message>
    <message>
        <location filename="../ui/gallery/GalleryView.qml" line="77" />
        <source>More actions</source>
        <translation>更多操作</translation>
    </message>
    <message>
        <location filename="../ui/gallery/GalleryView.qml" line="155" />
        <source>Copy seed</source>
        <translation>复制种子</translation>
    </message>
    <message>
        <location filename="../ui/gallery/GalleryView.qml" line="160" />
        <source>Copy parameters</source>
        <translation>复制参数</translation>
    </message>
    <message>
        <location filename="../ui/gallery/GalleryView.qml" line="46" />
        <source>Use these parameters</source>
        <translation>使用这些参数</translation>
    </message>
    <message numerus="yes">
        <location filename="../ui/gallery/GalleryView.qml" line="62" />
        <source>%n image(s)</source>
        <translation><numerusform>%n 张图像</numerusform></translation>
    </message>
    <message>
        <location filename="../ui/gallery/GalleryView.qml" line="140" />
        <source>Press Generate (Ctrl+Return) and watch every image of the batch take shape here.</source>
        <translation>按“生成”（Ctrl+Return），在这里看批次中的每张图像逐步成形。</translation>
    </message>
    <message>
        <location filename="../ui/gallery/GalleryView.qml" line="141" />
        <source>Open a diffusers model folder to begin.</source>
        <translation>打开一个 diffusers 模型文件夹即可开始。</translation>
    </message>
    <message>
        <location filename="../ui/gallery/GalleryView.qml" line="166" />
        <source>Select all</source>
        <translation>全选</translation>
    </message>
    <message>
        <location filename="../ui/gallery/GalleryView.qml" line="171" />
        <source>Reload the library</source>
        <translation>重新载入图库</translation>
    </message>
    <message>
        <location filename="../ui/gallery/GalleryView.qml" line="176" />
        <source>Clear the gallery</source>
        <translation>清空画廊</translation>
    </message>
    <message>
        <location filename="../ui/gallery/GalleryView.qml" line="191" />
        <source>Save the selected images into a folder</source>
        <translation>将所选图像保存到文件夹</translation>
    </message>
    <message>
        <location filename="../ui/gallery/GalleryView.qml" line="198" />
        <source>Save the grid as PNG</source>
        <translation>将网格保存为 PNG</translation>
    </message>
    <message>
        <location filename="../ui/gallery/GalleryView.qml" line="198" />
        <source>Save the image as PNG</source>
        <translation>将图像保存为 PNG</translation>
    </message>
    <message>
        <location filename="../ui/gallery/GalleryView.qml" line="201" />
        <source>PNG images (*.png)</source>
        <translation>PNG 图像 (*.png)</translation>
    </message>
</context>
<context>
    <name>GenerationPanel</name>
    <message>
        <location filename="../ui/generate/GenerationPanel.qml" line="25" />
        <source>Prompt</source>
        <translation>提示词</translation>
    </message>
    <message>
        <location filename="../ui/generate/GenerationPanel.qml" line="37" />
        <source>Describe the image</source>
        <translation>描述你想要的图像</translation>
    </message>
    <message>
        <location filename="../ui/generate/GenerationPanel.qml" line="53" />
        <source>%1 / %2 tokens: the words past %2 are cut off</source>
        <translation>%1 / %2 个词元：超出 %2 的部分会被截断</translation>
    </message>
    <message>
        <location filename="../ui/generate/GenerationPanel.qml" line="54" />
        <source>%1 / %2 tokens</source>
        <translation>%1 / %2 个词元</translation>
    </message>
    <message>
        <location filename="../ui/generate/GenerationPanel.qml" line="57" />
        <source>Negative prompt</source>
        <translation>反向提示词</translation>
    </message>
    <message>
        <location filename="../ui/generate/GenerationPanel.qml" line="68" />
        <source>What the image should not show</source>
        <translation>图像中不应出现的内容</translation>
    </message>
    <message>
        <location filename="../ui/generate/GenerationPanel.qml" line="79" />
        <source>This model is unconditional: it takes no prompt.</source>
        <translation>这是无条件模型：不需要提示词。</translation>
    </message>
    <message>
        <location filename="../ui/generate/GenerationPanel.qml" line="90" />
        <source>Steps</source>
        <translation>步数</translation>
    </message>
    <message>
        <location filename="../ui/generate/GenerationPanel.qml" line="101" />
        <source>Guidance</source>
        <translation>引导系数</translation>
    </message>
    <message>
        <location filename="../ui/generate/GenerationPanel.qml" line="115" />
        <source>Seed</source>
        <translation>种子</translation>
    </message>
    <message>
        <location filename="../ui/generate/GenerationPanel.qml" line="131" />
        <source>Roll a new seed</source>
        <translation>随机换一个种子</translation>
    </message>
    <message>
        <location filename="../ui/generate/GenerationPanel.qml" line="136" />
        <source>New random seed for every run</source>
        <translation>每次运行使用新的随机种子</translation>
    </message>
    <message>
        <location filename="../ui/generate/GenerationPanel.qml" line="141" />
        <source>Size</source>
        <translation>尺寸</translation>
    </message>
    <message>
        <location filename="../ui/generate/GenerationPanel.qml" line="172" />
        <source>This model makes %1 × %2 images only.</source>
        <translation>此模型只能生成 %1 × %2 的图像。</translation>
    </message>
    <message>
        <location filename="../ui/generate/GenerationPanel.qml" line="176" />
        <source>Batch size</source>
        <translation>每批数量</translation>
    </message>
    <message>
        <location filename="../ui/generate/GenerationPanel.qml" line="186" />
        <source>Batch count</source>
        <translation>批次数</translation>
    </message>
    <message>
        <location filename="../ui/generate/GenerationPanel.qml" line="196" />
        <source>Scheduler</source>
        <translation>调度器</translation>
    </message>
    <message>
        <location filename="../ui/generate/GenerationPanel.qml" line="214" />
        <source>Eta</source>
        <translation>Eta</translation>
    </message>
    <message>
        <location filename="../ui/generate/GenerationPanel.qml" line="218" />
        <source>DDIM's eta: 0 is deterministic, 1 adds fresh noise every step as DDPM does</source>
        <translation>DDIM 的 eta：0 为确定性采样，1 则像 DDPM 一样每步加入新的噪声</translation>
    </message>
    <message>
        <location filename="../ui/generate/GenerationPanel.qml" line="241" />
        <source>Reset to the model's defaults</source>
        <translation>恢复模型的默认值</translation>
    </message>
    <message>
        <location filename="../ui/generate/GenerationPanel.qml" line="255" />
        <source>Generate</source>
        <translation>生成</translation>
    </message>
    <message>
        <location filename="../ui/generate/GenerationPanel.qml" line="259" />
        <source>Queue a job (Ctrl+Return)</source>
        <translation>加入一个任务（Ctrl+Return）</translation>
    </message>
    <message>
        <location filename="../ui/generate/GenerationPanel.qml" line="262" />
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <location filename="../ui/generate/GenerationPanel.qml" line="266" />
        <source>Stop the running job and keep its previews (Esc)</source>
        <translation>停止当前任务并保留预览（Esc）</translation>
    </message>
    <message numerus="yes">
        <location filename="../ui/generate/GenerationPanel.qml" line="274" />
        <source>Remove %n queued job(s)</source>
        <translation><numerusform>移除 %n 个排队中的任务</numerusform></translation>
    </message>
</context>
<context>
    <name>GridOptionsDialog</name>
    <message>
        <location filename="../ui/gallery/GridOptionsDialog.qml" line="16" />
        <source>Save a grid</source>
        <translation>保存网格</translation>
    </message>
    <message>
        <location filename="../ui/gallery/GridOptionsDialog.qml" line="25" />
        <source>Columns</source>
        <translation>列数</translation>
    </message>
    <message>
        <location filename="../ui/gallery/GridOptionsDialog.qml" line="27" />
        <source>Automatic</source>
        <translation>自动</translation>
    </message>
    <message>
        <location filename="../ui/gallery/GridOptionsDialog.qml" line="34" />
        <source>Padding</source>
        <translation>间距</translation>
    </message>
    <message>
        <location filename="../ui/gallery/GridOptionsDialog.qml" line="36" />
        <source>Images</source>
        <translation>图像</translation>
    </message>
    <message>
        <location filename="../ui/gallery/GridOptionsDialog.qml" line="41" />
        <source>Only the selected images</source>
        <translation>仅所选图像</translation>
    </message>
    <message>
        <location filename="../ui/gallery/GridOptionsDialog.qml" line="43" />
        <source>Timeline</source>
        <translation>时间线</translation>
    </message>
    <message>
        <location filename="../ui/gallery/GridOptionsDialog.qml" line="45" />
        <source>Add each image's denoising steps</source>
        <translation>加入每张图像的去噪步骤</translation>
    </message>
</context>
<context>
    <name>ImageTile</name>
    <message>
        <location filename="../ui/gallery/ImageTile.qml" line="54" />
        <source>Queued</source>
        <translation>排队中</translation>
    </message>
    <message>
        <location filename="../ui/gallery/ImageTile.qml" line="64" />
        <source>Cancelled at %1/%2</source>
        <translation>已在 %1/%2 取消</translation>
    </message>
    <message>
        <location filename="../ui/gallery/ImageTile.qml" line="65" />
        <source>Failed</source>
        <translation>失败</translation>
    </message>
    <message>
        <location filename="../ui/gallery/ImageTile.qml" line="66" />
        <source>%1/%2</source>
        <translation>%1/%2</translation>
    </message>
    <message>
        <location filename="../ui/gallery/ImageTile.qml" line="74" />
        <source>Seed %1</source>
        <translation>种子 %1</translation>
    </message>
</context>
<context>
    <name>LossChart</name>
    <message>
        <location filename="../ui/train/LossChart.qml" line="21" />
        <source>Loss</source>
        <translation>损失</translation>
    </message>
    <message>
        <location filename="../ui/train/LossChart.qml" line="28" />
        <source>The loss curve appears here once training starts.</source>
        <translation>开始训练后，损失曲线会显示在这里。</translation>
    </message>
</context>
<context>
    <name>Main</name>
    <message>
        <location filename="../ui/Main.qml" line="57" />
        <source>Papillon — %1</source>
        <translation>Papillon — %1</translation>
    </message>
    <message>
        <location filename="../ui/Main.qml" line="58" />
        <source>Papillon</source>
        <translation>Papillon</translation>
    </message>
    <message>
        <location filename="../ui/Main.qml" line="71" />
        <source>Generate</source>
        <translation>生成</translation>
    </message>
    <message>
        <location filename="../ui/Main.qml" line="72" />
        <source>Train</source>
        <translation>训练</translation>
    </message>
    <message>
        <location filename="../ui/Main.qml" line="75" />
        <source>Settings</source>
        <translation>设置</translation>
    </message>
    <message>
        <location filename="../ui/Main.qml" line="150" />
        <source>Drop a PNG to reuse its parameters, or a model folder to open it</source>
        <translation>拖入 PNG 可复用其参数，拖入模型文件夹可打开它</translation>
    </message>
</context>
<context>
    <name>ModelBar</name>
    <message>
        <location filename="../ui/generate/ModelBar.qml" line="23" />
        <source>Model</source>
        <translation>模型</translation>
    </message>
    <message>
        <location filename="../ui/generate/ModelBar.qml" line="30" />
        <source>Path of a diffusers model folder</source>
        <translation>diffusers 模型文件夹的路径</translation>
    </message>
    <message>
        <location filename="../ui/generate/ModelBar.qml" line="36" />
        <source>Open folder…</source>
        <translation>打开文件夹…</translation>
    </message>
    <message>
        <location filename="../ui/generate/ModelBar.qml" line="41" />
        <source>Recent</source>
        <translation>最近使用</translation>
    </message>
    <message>
        <location filename="../ui/generate/ModelBar.qml" line="69" />
        <source>GPU</source>
        <translation>GPU</translation>
    </message>
    <message>
        <location filename="../ui/generate/ModelBar.qml" line="69" />
        <source>CPU</source>
        <translation>CPU</translation>
    </message>
    <message>
        <location filename="../ui/generate/ModelBar.qml" line="70" />
        <source>%1 · %2 × %3 · %4 M parameters · %5 %6</source>
        <translation>%1 · %2 × %3 · %4 M 参数 · %5 %6</translation>
    </message>
    <message>
        <location filename="../ui/generate/ModelBar.qml" line="77" />
        <source>Components: %1</source>
        <translation>组件：%1</translation>
    </message>
    <message>
        <location filename="../ui/generate/ModelBar.qml" line="90" />
        <source>Could not open the model: %1</source>
        <translation>无法打开模型：%1</translation>
    </message>
    <message>
        <location filename="../ui/generate/ModelBar.qml" line="104" />
        <source>Open a diffusers model folder</source>
        <translation>打开 diffusers 模型文件夹</translation>
    </message>
</context>
<context>
    <name>ProgressBarRow</name>
    <message>
        <location filename="../ui/generate/ProgressBarRow.qml" line="24" />
        <source>Step %1/%2</source>
        <translation>第 %1/%2 步</translation>
    </message>
    <message>
        <location filename="../ui/generate/ProgressBarRow.qml" line="28" />
        <source>%1 it/s</source>
        <translation>%1 步/秒</translation>
    </message>
    <message>
        <location filename="../ui/generate/ProgressBarRow.qml" line="32" />
        <source>ETA %1</source>
        <translation>剩余 %1</translation>
    </message>
    <message numerus="yes">
        <location filename="../ui/generate/ProgressBarRow.qml" line="36" />
        <source>%n job(s) queued, all done in %1</source>
        <translation><numerusform>%n 个任务排队中，全部完成还需 %1</numerusform></translation>
    </message>
</context>
<context>
    <name>SettingsDialog</name>
    <message>
        <location filename="../ui/components/SettingsDialog.qml" line="12" />
        <source>Settings</source>
        <translation>设置</translation>
    </message>
    <message>
        <location filename="../ui/components/SettingsDialog.qml" line="21" />
        <source>Language</source>
        <translation>语言</translation>
    </message>
    <message>
        <location filename="../ui/components/SettingsDialog.qml" line="27" />
        <source>System default</source>
        <translation>跟随系统</translation>
    </message>
    <message>
        <location filename="../ui/components/SettingsDialog.qml" line="32" />
        <source>Theme</source>
        <translation>主题</translation>
    </message>
    <message>
        <location filename="../ui/components/SettingsDialog.qml" line="36" />
        <source>System</source>
        <translation>跟随系统</translation>
    </message>
    <message>
        <location filename="../ui/components/SettingsDialog.qml" line="36" />
        <source>Light</source>
        <translation>浅色</translation>
    </message>
    <message>
        <location filename="../ui/components/SettingsDialog.qml" line="36" />
        <source>Dark</source>
        <translation>深色</translation>
    </message>
    <message>
        <location filename="../ui/components/SettingsDialog.qml" line="41" />
        <source>Image library</source>
        <translation>图库</translation>
    </message>
    <message>
        <location filename="../ui/components/SettingsDialog.qml" line="51" />
        <source>Choose…</source>
        <translation>选择…</translation>
    </message>
    <message>
        <location filename="../ui/components/SettingsDialog.qml" line="59" />
        <source>Every finished image is kept here with its parameters and comes back when Papillon starts.</source>
        <translation>每张完成的图像都会连同参数保存在这里，Papillon 下次启动时会重新显示。</translation>
    </message>
    <message>
        <location filename="../ui/components/SettingsDialog.qml" line="62" />
        <source>Run on</source>
        <translation>运行于</translation>
    </message>
    <message>
        <location filename="../ui/components/SettingsDialog.qml" line="67" />
        <source>Automatic (GPU if available)</source>
        <translation>自动（有 GPU 时用 GPU）</translation>
    </message>
    <message>
        <location filename="../ui/components/SettingsDialog.qml" line="67" />
        <source>CPU</source>
        <translation>CPU</translation>
    </message>
    <message>
        <location filename="../ui/components/SettingsDialog.qml" line="68" />
        <source>GPU (CUDA)</source>
        <translation>GPU（CUDA）</translation>
    </message>
    <message>
        <location filename="../ui/components/SettingsDialog.qml" line="68" />
        <source>GPU (CUDA): not available</source>
        <translation>GPU（CUDA）：不可用</translation>
    </message>
    <message>
        <location filename="../ui/components/SettingsDialog.qml" line="80" />
        <source>Precision</source>
        <translation>精度</translation>
    </message>
    <message>
        <location filename="../ui/components/SettingsDialog.qml" line="85" />
        <source>Full (fp32): the same images as diffusers</source>
        <translation>完整（fp32）：与 diffusers 的图像相同</translation>
    </message>
    <message>
        <location filename="../ui/components/SettingsDialog.qml" line="86" />
        <source>Half (bf16 on the CPU, fp16 on a GPU): faster</source>
        <translation>半精度（CPU 上 bf16，GPU 上 fp16）：更快</translation>
    </message>
    <message>
        <location filename="../ui/components/SettingsDialog.qml" line="97" />
        <source>This CPU computes bf16 natively: in half precision a large model such as Stable Diffusion takes about half the time per step (small models gain nothing). Images differ slightly from full precision. Changing either setting reloads the model.</source>
        <translation>此 CPU 原生支持 bf16：半精度下，Stable Diffusion 这类大模型每步约需一半时间（小模型没有提升）。图像与完整精度略有差别。更改任一设置都会重新加载模型。</translation>
    </message>
    <message>
        <location filename="../ui/components/SettingsDialog.qml" line="98" />
        <source>This CPU has no native bf16: on the CPU, half precision is slower than full. Changing either setting reloads the model.</source>
        <translation>此 CPU 不原生支持 bf16：在 CPU 上半精度比完整精度更慢。更改任一设置都会重新加载模型。</translation>
    </message>
    <message>
        <location filename="../ui/components/SettingsDialog.qml" line="101" />
        <source>Full preview every</source>
        <translation>完整预览间隔</translation>
    </message>
    <message>
        <location filename="../ui/components/SettingsDialog.qml" line="108" />
        <source>steps (0: off)</source>
        <translation>步（0：关闭）</translation>
    </message>
    <message>
        <location filename="../ui/components/SettingsDialog.qml" line="116" />
        <source>Latent models (Stable Diffusion) preview each step with a fast colour projection; a full VAE decode shows the exact image but costs about as much as a step.</source>
        <translation>潜空间模型（Stable Diffusion）每一步用快速颜色投影预览；完整的 VAE 解码能显示准确图像，但耗时约等于一步。</translation>
    </message>
    <message>
        <location filename="../ui/components/SettingsDialog.qml" line="122" />
        <source>Choose the image library folder</source>
        <translation>选择图库文件夹</translation>
    </message>
</context>
<context>
    <name>TimelineStrip</name>
    <message>
        <location filename="../ui/gallery/TimelineStrip.qml" line="39" />
        <source>Step %1</source>
        <translation>第 %1 步</translation>
    </message>
</context>
<context>
    <name>TrainPage</name>
    <message>
        <location filename="../ui/train/TrainPage.qml" line="30" />
        <source>Training images</source>
        <translation>训练图像</translation>
    </message>
    <message>
        <location filename="../ui/train/TrainPage.qml" line="37" />
        <source>Fashion-MNIST (installed)</source>
        <translation>Fashion-MNIST（已安装）</translation>
    </message>
    <message>
        <location filename="../ui/train/TrainPage.qml" line="37" />
        <source>A folder of images</source>
        <translation>图像文件夹</translation>
    </message>
    <message>
        <location filename="../ui/train/TrainPage.qml" line="52" />
        <source>Folder of PNG/JPEG images</source>
        <translation>PNG/JPEG 图像所在的文件夹</translation>
    </message>
    <message>
        <location filename="../ui/train/TrainPage.qml" line="56" />
        <location filename="../ui/train/TrainPage.qml" line="183" />
        <source>Choose…</source>
        <translation>选择…</translation>
    </message>
    <message>
        <location filename="../ui/train/TrainPage.qml" line="65" />
        <source>Install it with: sudo apt install dataset-fashion-mnist</source>
        <translation>请先安装：sudo apt install dataset-fashion-mnist</translation>
    </message>
    <message>
        <location filename="../ui/train/TrainPage.qml" line="70" />
        <source>Grayscale</source>
        <translation>灰度</translation>
    </message>
    <message>
        <location filename="../ui/train/TrainPage.qml" line="77" />
        <source>Class-conditional (the prompt picks the class)</source>
        <translation>按类别条件训练（用提示词选择类别）</translation>
    </message>
    <message>
        <location filename="../ui/train/TrainPage.qml" line="83" />
        <source>Random horizontal flips</source>
        <translation>随机水平翻转</translation>
    </message>
    <message>
        <location filename="../ui/train/TrainPage.qml" line="88" />
        <source>Model</source>
        <translation>模型</translation>
    </message>
    <message>
        <location filename="../ui/train/TrainPage.qml" line="97" />
        <source>Size</source>
        <translation>尺寸</translation>
    </message>
    <message>
        <location filename="../ui/train/TrainPage.qml" line="102" />
        <source>Tiny (0.5 M parameters)</source>
        <translation>极小（0.5 M 参数）</translation>
    </message>
    <message>
        <location filename="../ui/train/TrainPage.qml" line="102" />
        <source>Small (2 M, CPU-friendly)</source>
        <translation>小（2 M，适合 CPU）</translation>
    </message>
    <message>
        <location filename="../ui/train/TrainPage.qml" line="103" />
        <source>Butterflies recipe (114 M, GPU)</source>
        <translation>蝴蝶教程配置（114 M，需 GPU）</translation>
    </message>
    <message>
        <location filename="../ui/train/TrainPage.qml" line="107" />
        <source>Resolution</source>
        <translation>分辨率</translation>
    </message>
    <message>
        <location filename="../ui/train/TrainPage.qml" line="117" />
        <source>Run</source>
        <translation>运行</translation>
    </message>
    <message>
        <location filename="../ui/train/TrainPage.qml" line="126" />
        <source>Steps</source>
        <translation>步数</translation>
    </message>
    <message>
        <location filename="../ui/train/TrainPage.qml" line="133" />
        <source>Batch size</source>
        <translation>每批数量</translation>
    </message>
    <message>
        <location filename="../ui/train/TrainPage.qml" line="140" />
        <source>Learning rate</source>
        <translation>学习率</translation>
    </message>
    <message>
        <location filename="../ui/train/TrainPage.qml" line="148" />
        <source>Seed</source>
        <translation>种子</translation>
    </message>
    <message>
        <location filename="../ui/train/TrainPage.qml" line="155" />
        <source>Samples every</source>
        <translation>采样间隔</translation>
    </message>
    <message>
        <location filename="../ui/train/TrainPage.qml" line="162" />
        <source>Checkpoint every</source>
        <translation>检查点间隔</translation>
    </message>
    <message>
        <location filename="../ui/train/TrainPage.qml" line="171" />
        <source>Output folder</source>
        <translation>输出文件夹</translation>
    </message>
    <message>
        <location filename="../ui/train/TrainPage.qml" line="179" />
        <source>A new folder under Documents/Papillon/training</source>
        <translation>在 文档/Papillon/training 下新建文件夹</translation>
    </message>
    <message>
        <location filename="../ui/train/TrainPage.qml" line="199" />
        <source>Start</source>
        <translation>开始</translation>
    </message>
    <message>
        <location filename="../ui/train/TrainPage.qml" line="205" />
        <source>Resume</source>
        <translation>继续</translation>
    </message>
    <message>
        <location filename="../ui/train/TrainPage.qml" line="209" />
        <source>Continue the checkpoint in the output folder</source>
        <translation>从输出文件夹中的检查点继续训练</translation>
    </message>
    <message>
        <location filename="../ui/train/TrainPage.qml" line="213" />
        <source>Stop</source>
        <translation>停止</translation>
    </message>
    <message>
        <location filename="../ui/train/TrainPage.qml" line="220" />
        <source>Open this model</source>
        <translation>打开此模型</translation>
    </message>
    <message>
        <location filename="../ui/train/TrainPage.qml" line="232" />
        <source>Step %1 / %2</source>
        <translation>第 %1 / %2 步</translation>
    </message>
    <message>
        <location filename="../ui/train/TrainPage.qml" line="233" />
        <source>Loss %1 (avg %2)</source>
        <translation>损失 %1（平均 %2）</translation>
    </message>
    <message>
        <location filename="../ui/train/TrainPage.qml" line="234" />
        <source>%1 steps/s</source>
        <translation>%1 步/秒</translation>
    </message>
    <message>
        <location filename="../ui/train/TrainPage.qml" line="235" />
        <source>ETA %1</source>
        <translation>剩余 %1</translation>
    </message>
    <message>
        <location filename="../ui/train/TrainPage.qml" line="261" />
        <source>Samples after step %1 (EMA weights, fixed seed)</source>
        <translation>第 %1 步后的采样（EMA 权重，固定种子）</translation>
    </message>
    <message>
        <location filename="../ui/train/TrainPage.qml" line="262" />
        <source>Sample grids appear here as the model trains.</source>
        <translation>训练过程中，采样网格会显示在这里。</translation>
    </message>
    <message>
        <location filename="../ui/train/TrainPage.qml" line="291" />
        <source>Choose a folder of training images</source>
        <translation>选择训练图像文件夹</translation>
    </message>
    <message>
        <location filename="../ui/train/TrainPage.qml" line="296" />
        <source>Choose the output folder</source>
        <translation>选择输出文件夹</translation>
    </message>
</context>
<context>
    <name>papillon::ui::StudioController</name>
    <message>
        <location filename="../ui/studio_controller.cpp" line="71" />
        <source>Could not keep the image in the library</source>
        <translation>无法把图像存入图库</translation>
    </message>
    <message numerus="yes">
        <location filename="../ui/studio_controller.cpp" line="79" />
        <source>Finished %n step(s) at %1 it/s</source>
        <translation><numerusform>已完成 %n 步，速度 %1 步/秒</numerusform></translation>
    </message>
    <message>
        <location filename="../ui/studio_controller.cpp" line="85" />
        <source>Generation failed</source>
        <translation>生成失败</translation>
    </message>
    <message>
        <location filename="../ui/studio_controller.cpp" line="91" />
        <source>Cancelled at step %1 of %2</source>
        <translation>已在第 %1 步（共 %2 步）取消</translation>
    </message>
    <message>
        <location filename="../ui/studio_controller.cpp" line="148" />
        <source>Loading %1…</source>
        <translation>正在加载 %1…</translation>
    </message>
    <message>
        <location filename="../ui/studio_controller.cpp" line="171" />
        <source>Ready: %1</source>
        <translation>就绪：%1</translation>
    </message>
    <message>
        <location filename="../ui/studio_controller.cpp" line="182" />
        <source>Could not open the model</source>
        <translation>无法打开模型</translation>
    </message>
    <message>
        <location filename="../ui/studio_controller.cpp" line="187" />
        <source>Open a model folder first.</source>
        <translation>请先打开一个模型文件夹。</translation>
    </message>
    <message>
        <location filename="../ui/studio_controller.cpp" line="207" />
        <source>Starting…</source>
        <translation>正在启动…</translation>
    </message>
    <message>
        <location filename="../ui/studio_controller.cpp" line="301" />
        <source>steps %1</source>
        <translation>%1 步</translation>
    </message>
    <message>
        <location filename="../ui/studio_controller.cpp" line="304" />
        <source>guidance %1</source>
        <translation>引导系数 %1</translation>
    </message>
    <message>
        <location filename="../ui/studio_controller.cpp" line="307" />
        <source>eta %1</source>
        <translation>eta %1</translation>
    </message>
    <message>
        <location filename="../ui/studio_controller.cpp" line="314" />
        <source>Defaults: diffusers' own</source>
        <translation>默认值：diffusers 自带</translation>
    </message>
    <message>
        <location filename="../ui/studio_controller.cpp" line="315" />
        <source>Defaults from the model: %1</source>
        <translation>模型的默认值：%1</translation>
    </message>
    <message>
        <location filename="../ui/studio_controller.cpp" line="367" />
        <source>Cancelling…</source>
        <translation>正在取消…</translation>
    </message>
    <message>
        <location filename="../ui/studio_controller.cpp" line="398" />
        <source>Generating job %1</source>
        <translation>正在生成任务 %1</translation>
    </message>
    <message>
        <location filename="../ui/studio_controller.cpp" line="431" />
        <location filename="../ui/studio_controller.cpp" line="476" />
        <source>Saved %1</source>
        <translation>已保存 %1</translation>
    </message>
    <message>
        <location filename="../ui/studio_controller.cpp" line="434" />
        <location filename="../ui/studio_controller.cpp" line="506" />
        <source>Could not save the image</source>
        <translation>无法保存图像</translation>
    </message>
    <message>
        <location filename="../ui/studio_controller.cpp" line="465" />
        <source>There is no finished image to put in a grid.</source>
        <translation>没有已完成的图像可以拼成网格。</translation>
    </message>
    <message>
        <location filename="../ui/studio_controller.cpp" line="479" />
        <source>Could not save the grid</source>
        <translation>无法保存网格</translation>
    </message>
    <message>
        <location filename="../ui/studio_controller.cpp" line="494" />
        <source>Cannot create the folder %1</source>
        <translation>无法创建文件夹 %1</translation>
    </message>
    <message numerus="yes">
        <location filename="../ui/studio_controller.cpp" line="510" />
        <source>Saved %n image(s) to %1</source>
        <translation><numerusform>已将 %n 张图像保存到 %1</numerusform></translation>
    </message>
    <message>
        <location filename="../ui/studio_controller.cpp" line="529" />
        <source>Could not delete %1</source>
        <translation>无法删除 %1</translation>
    </message>
    <message numerus="yes">
        <location filename="../ui/studio_controller.cpp" line="531" />
        <source>Deleted %n image(s)</source>
        <translation><numerusform>已删除 %n 张图像</numerusform></translation>
    </message>
    <message>
        <location filename="../ui/studio_controller.cpp" line="542" />
        <source>Could not read the image</source>
        <translation>无法读取该图像</translation>
    </message>
    <message>
        <location filename="../ui/studio_controller.cpp" line="546" />
        <source>%1 carries no generation parameters</source>
        <translation>%1 不含生成参数</translation>
    </message>
    <message>
        <location filename="../ui/studio_controller.cpp" line="550" />
        <source>Parameters of %1 restored</source>
        <translation>已恢复 %1 的参数</translation>
    </message>
    <message>
        <location filename="../ui/studio_controller.cpp" line="602" />
        <source>Seed %1 copied</source>
        <translation>已复制种子 %1</translation>
    </message>
    <message>
        <location filename="../ui/studio_controller.cpp" line="607" />
        <source>Parameters copied</source>
        <translation>已复制参数</translation>
    </message>
    <message>
        <location filename="../ui/studio_controller.cpp" line="688" />
        <source>%1 (model default)</source>
        <translation>%1（模型默认）</translation>
    </message>
</context>
<context>
    <name>papillon::ui::TrainController</name>
    <message>
        <location filename="../ui/train_controller.cpp" line="70" />
        <source>Training %1 M parameters on %2</source>
        <translation>正在训练 %1 M 参数的模型，数据：%2</translation>
    </message>
    <message numerus="yes">
        <location filename="../ui/train_controller.cpp" line="74" />
        <source>%n file(s) skipped</source>
        <translation><numerusform>跳过了 %n 个文件</numerusform></translation>
    </message>
    <message>
        <location filename="../ui/train_controller.cpp" line="109" />
        <source>Stopped at step %1: the checkpoint is saved, Resume continues it</source>
        <translation>已在第 %1 步停止：检查点已保存，点“继续”可接着训练</translation>
    </message>
    <message numerus="yes">
        <location filename="../ui/train_controller.cpp" line="110" />
        <source>Done: %n step(s)</source>
        <translation><numerusform>完成：共 %n 步</numerusform></translation>
    </message>
    <message>
        <location filename="../ui/train_controller.cpp" line="117" />
        <source>Training failed</source>
        <translation>训练失败</translation>
    </message>
    <message>
        <location filename="../ui/train_controller.cpp" line="153" />
        <source>Choose the training images first.</source>
        <translation>请先选择训练图像。</translation>
    </message>
    <message>
        <location filename="../ui/train_controller.cpp" line="188" />
        <source>Resuming…</source>
        <translation>正在继续…</translation>
    </message>
    <message>
        <location filename="../ui/train_controller.cpp" line="188" />
        <source>Preparing the data…</source>
        <translation>正在准备数据…</translation>
    </message>
    <message>
        <location filename="../ui/train_controller.cpp" line="199" />
        <source>Stopping after this step…</source>
        <translation>本步结束后停止…</translation>
    </message>
</context>
</TS>